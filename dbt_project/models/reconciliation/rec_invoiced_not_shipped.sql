{#- Invoiced quantity no system reports as shipped: an invoice line whose shipment (or, without
    a shipment reference, whose order line) has no shipment line in the WMS, the 945s or the
    ERP, and whose order line has shipped less than invoiced. Clock starts at invoicing. -#}
with shipped_by_shipment as (
    select shipment_id, correlation_id, sum(qty_base) as shipped_base
    from {{ ref('fct_shipment_lines') }}
    where not is_duplicate_posting
    group by shipment_id, correlation_id
),

shipped_by_line as (
    select correlation_id, max(shipped_base) as shipped_base
    from (
        select source_system, correlation_id, sum(qty_base) as shipped_base
        from {{ ref('fct_shipment_lines') }}
        where not is_duplicate_posting
        group by source_system, correlation_id
    ) as per_system
    group by correlation_id
),

invoiced as (
    select
        l.invoice_no,
        l.correlation_id,
        min(l.so_no) as so_no,
        min(l.shipment_id) as shipment_id,
        min(l.invoiced_at) as invoiced_at,
        sum(l.qty_base) as invoiced_base,
        max(l.unit_price_base) as unit_price_base,
        max(case when s.shipment_id is not null then 1 else 0 end) as has_shipment_line
    from {{ ref('fct_invoice_lines') }} as l
        left join shipped_by_shipment as s
            on s.shipment_id = l.shipment_id and s.correlation_id = l.correlation_id
    where l.source_system = 'erp'
    group by l.invoice_no, l.correlation_id
),

candidates as (
    select
        {{ dbt.concat(["i.invoice_no", "':'", "i.correlation_id"]) }} as exception_key,
        i.correlation_id,
        {{ json_object([('invoice_no', 'i.invoice_no'), ('so_no', 'i.so_no')]) }} as documents,
        i.invoiced_base - least(i.invoiced_base, coalesce(s.shipped_base, 0)) as difference,
        (i.invoiced_base - least(i.invoiced_base, coalesce(s.shipped_base, 0))) * i.unit_price_base as amount_at_risk,
        i.invoiced_at as event_at,
        i.invoiced_base,
        coalesce(s.shipped_base, 0) as shipped_base
    from invoiced as i
        left join shipped_by_line as s on s.correlation_id = i.correlation_id
    where i.has_shipment_line = 0 and coalesce(s.shipped_base, 0) < i.invoiced_base
)

select
    {{ rec_columns() }},
    {{ hours_between('event_at', as_of()) }} > r.sla_hours as is_exception,
    invoiced_base,
    shipped_base
from candidates
    cross join {{ rule('invoiced_not_shipped') }} as r
