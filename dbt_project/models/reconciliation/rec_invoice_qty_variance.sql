{#- Invoice quantity vs the quantity of the shipment it bills, in base units: an invoice in EA
    for a shipment in CA is the same quantity; a partial or split shipment billed as shipped is
    not a variance (the rest of the line is on another shipment or backordered). -#}
with shipped as (
    select shipment_id, correlation_id, sum(qty_base) as shipped_base
    from {{ ref('fct_shipment_lines') }}
    where source_system = 'erp' and not is_duplicate_posting
    group by shipment_id, correlation_id
),

lines as (
    select
        l.invoice_no,
        l.correlation_id,
        min(l.so_no) as so_no,
        min(l.shipment_id) as shipment_id,
        min(l.invoiced_at) as invoiced_at,
        sum(l.qty_base) as invoiced_base,
        sum(s.shipped_base) as shipped_base,
        max(l.order_unit_price_base) as order_unit_price_base
    from {{ ref('fct_invoice_lines') }} as l
        inner join shipped as s on s.shipment_id = l.shipment_id and s.correlation_id = l.correlation_id
    where l.source_system = 'erp'
    group by l.invoice_no, l.correlation_id
),

candidates as (
    select
        {{ dbt.concat(["invoice_no", "':'", "correlation_id"]) }} as exception_key,
        correlation_id,
        {{ json_object([('invoice_no', 'invoice_no'), ('shipment_id', 'shipment_id'), ('so_no', 'so_no')]) }} as documents,
        invoiced_base - shipped_base as difference,
        abs(invoiced_base - shipped_base) * order_unit_price_base as amount_at_risk,
        invoiced_at as event_at,
        invoiced_base,
        shipped_base
    from lines
)

select
    {{ rec_columns() }},
    {{ outside_tolerance('difference', 'shipped_base') }}
        and {{ hours_between('event_at', as_of()) }} > r.sla_hours as is_exception,
    invoiced_base,
    shipped_base
from candidates
    cross join {{ rule('invoice_qty_variance') }} as r
-- a pair that agrees exactly is a match, not a candidate (no tolerance can flag it)
where difference <> 0
