{#- One physical shipment posted as more than one ERP ship confirm. -#}
with postings as (
    select
        s.shipment_id,
        min(s.so_no) as so_no,
        count(distinct s.ship_confirm_no) as postings,
        min(case when not s.is_duplicate_posting then s.ship_confirm_no end) as first_confirm_no,
        max(s.ship_confirm_no) as last_confirm_no,
        max(s.posted_at) as last_posted_at,
        sum(case when not s.is_duplicate_posting then s.qty_base * o.unit_price_base else 0 end) as shipment_value
    from {{ ref('fct_shipment_lines') }} as s
        left join {{ ref('fct_order_lines') }} as o on o.correlation_id = s.correlation_id
    where s.source_system = 'erp'
    group by s.shipment_id
),

candidates as (
    select
        shipment_id as exception_key,
        cast(null as {{ dbt.type_string() }}) as correlation_id,
        {{ json_object([('shipment_id', 'shipment_id'), ('first_ship_confirm_no', 'first_confirm_no'),
                        ('duplicate_ship_confirm_no', 'last_confirm_no'), ('so_no', 'so_no')]) }} as documents,
        postings - 1 as difference,
        shipment_value as amount_at_risk,
        last_posted_at as event_at
    from postings
    where postings > 1
)

select
    {{ rec_columns() }},
    {{ hours_between('event_at', as_of()) }} > r.sla_hours as is_exception
from candidates
    cross join {{ rule('duplicate_shipment_confirmation') }} as r
