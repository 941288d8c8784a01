{#- 856 ASN quantities vs what the warehouse shipped (WMS, or the 3PL's 945, else the ERP ship
    confirm), per shipment x item in base units: an ASN in EA for a shipment in CA is the same
    quantity. An ASN for a shipment no system reports yet (the 3PL's 945 still on its way) is
    not compared: there is nothing to compare it with. -#}
with shipped as (
    select x.shipment_id, x.item_no, min(x.so_no) as so_no, min(x.correlation_id) as correlation_id,
           sum(x.qty_base) as shipped_base, max(o.unit_price_base) as unit_price_base
    from (
        select s.*, rank() over (partition by s.shipment_id order by case s.source_system when 'erp' then 2 else 1 end) as pref
        from {{ ref('fct_shipment_lines') }} as s
        where not s.is_duplicate_posting
    ) as x
        left join {{ ref('fct_order_lines') }} as o on o.correlation_id = x.correlation_id
    where x.pref = 1
    group by x.shipment_id, x.item_no
),

asn as (
    select * from {{ ref('stg_edi__856_items') }}
),

compared as (
    select
        a.shipment_id,
        coalesce(a.item_no, s.item_no) as item_no,
        s.so_no,
        s.correlation_id,
        a.ship_date,
        coalesce(a.qty_base, 0) as asn_base,
        coalesce(s.shipped_base, 0) as shipped_base,
        coalesce(a.qty_base, 0) - coalesce(s.shipped_base, 0) as diff_base,
        s.unit_price_base
    from asn as a
        left join shipped as s on s.shipment_id = a.shipment_id and s.item_no = a.item_no
    where a.shipment_id in (select shipment_id from shipped)
    union all
    select s.shipment_id, s.item_no, s.so_no, s.correlation_id, a0.ship_date, 0, s.shipped_base,
           -s.shipped_base, s.unit_price_base
    from shipped as s
        inner join (select shipment_id, max(ship_date) as ship_date from asn group by shipment_id) as a0
            on a0.shipment_id = s.shipment_id
        left join asn as a on a.shipment_id = s.shipment_id and a.item_no = s.item_no
    where a.item_no is null
),

per_shipment as (
    select
        shipment_id,
        min(so_no) as so_no,
        min(case when diff_base <> 0 then correlation_id end) as correlation_id,
        max(ship_date) as ship_date,
        sum(abs(diff_base)) as abs_diff_base,
        sum(asn_base) as asn_base,
        sum(shipped_base) as shipped_base,
        sum(abs(diff_base) * coalesce(unit_price_base, 0)) as amount
    from compared
    group by shipment_id
),

candidates as (
    select
        shipment_id as exception_key,
        correlation_id,
        {{ json_object([('shipment_id', 'shipment_id'), ('so_no', 'so_no')]) }} as documents,
        abs_diff_base as difference,
        amount as amount_at_risk,
        ship_date as event_at,
        asn_base,
        shipped_base
    from per_shipment
)

select
    {{ rec_columns() }},
    {{ outside_tolerance('difference', 'shipped_base') }}
        and {{ hours_between('event_at', as_of()) }} >= r.sla_hours as is_exception,
    asn_base,
    shipped_base
from candidates
    cross join {{ rule('asn_mismatch') }} as r
-- a pair that agrees exactly is a match, not a candidate (no tolerance can flag it)
where difference <> 0
