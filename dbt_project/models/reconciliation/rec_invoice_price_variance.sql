{#- Invoice unit price vs the order line's price, both in the invoice's unit of measure
    (order price per base unit x the invoice UoM factor). Tolerance from the rules seed. -#}
with lines as (
    select
        invoice_no,
        correlation_id,
        min(so_no) as so_no,
        min(shipment_id) as shipment_id,
        min(invoiced_at) as invoiced_at,
        max(unit_price - order_unit_price_base * uom_factor) as max_diff,
        min(unit_price - order_unit_price_base * uom_factor) as min_diff,
        max(order_unit_price_base * uom_factor) as order_price,
        sum(abs(unit_price - order_unit_price_base * uom_factor) * qty) as amount
    from {{ ref('fct_invoice_lines') }}
    where source_system = 'erp'
    group by invoice_no, correlation_id
),

candidates as (
    select
        {{ dbt.concat(["invoice_no", "':'", "correlation_id"]) }} as exception_key,
        correlation_id,
        {{ json_object([('invoice_no', 'invoice_no'), ('shipment_id', 'shipment_id'), ('so_no', 'so_no')]) }} as documents,
        case when abs(max_diff) >= abs(min_diff) then max_diff else min_diff end as difference,
        amount as amount_at_risk,
        invoiced_at as event_at,
        order_price
    from lines
)

select
    {{ rec_columns() }},
    {{ outside_tolerance('difference', 'order_price') }}
        and {{ hours_between('event_at', as_of()) }} > r.sla_hours as is_exception,
    order_price
from candidates
    cross join {{ rule('invoice_price_variance') }} as r
-- a pair that agrees exactly is a match, not a candidate (no tolerance can flag it)
where difference <> 0
