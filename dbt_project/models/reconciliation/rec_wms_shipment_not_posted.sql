{#- A shipment the WMS (or the 3PL's 945) reports as shipped with no ERP ship confirm. -#}
with physical as (
    select
        s.shipment_id,
        min(s.source_system) as source_system,
        min(s.so_no) as so_no,
        min(s.shipped_at) as shipped_at,
        sum(s.qty_base * o.unit_price_base) as shipped_value
    from {{ ref('fct_shipment_lines') }} as s
        left join {{ ref('fct_order_lines') }} as o on o.correlation_id = s.correlation_id
    where s.source_system in ('wms', '945')
    group by s.shipment_id
),

posted as (
    select distinct shipment_id
    from {{ ref('fct_shipment_lines') }}
    where source_system = 'erp'
),

candidates as (
    select
        p.shipment_id as exception_key,
        cast(null as {{ dbt.type_string() }}) as correlation_id,
        {{ json_object([('shipment_id', 'p.shipment_id'), ('so_no', 'p.so_no'), ('reported_by', 'p.source_system')]) }} as documents,
        p.shipped_value as difference,
        p.shipped_value as amount_at_risk,
        p.shipped_at as event_at
    from physical as p
        left join posted as e on e.shipment_id = p.shipment_id
    where e.shipment_id is null
)

select
    {{ rec_columns() }},
    {{ hours_between('event_at', as_of()) }} > r.sla_hours as is_exception
from candidates
    cross join {{ rule('wms_shipment_not_posted') }} as r
