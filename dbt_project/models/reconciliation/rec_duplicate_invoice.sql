{#- An invoice every line of which (shipment, order line, quantity) was already billed by an
    earlier invoice: the later one is the duplicate. -#}
with lines as (
    select
        invoice_no,
        shipment_id,
        correlation_id,
        qty_base,
        invoiced_at,
        rank() over (
            partition by shipment_id, correlation_id, qty_base order by invoiced_at, invoice_no) as billing_rank,
        first_value(invoice_no) over (
            partition by shipment_id, correlation_id, qty_base order by invoiced_at, invoice_no) as first_invoice_no
    from {{ ref('fct_invoice_lines') }}
    where source_system = 'erp'
),

per_invoice as (
    select
        invoice_no,
        min(billing_rank) as min_rank,
        min(first_invoice_no) as original_invoice_no,
        min(invoiced_at) as invoiced_at
    from lines
    group by invoice_no
),

candidates as (
    select
        p.invoice_no as exception_key,
        cast(null as {{ dbt.type_string() }}) as correlation_id,
        {{ json_object([('invoice_no', 'p.invoice_no'), ('original_invoice_no', 'p.original_invoice_no'), ('so_no', 'h.so_no')]) }} as documents,
        h.total_amount as difference,
        h.total_amount as amount_at_risk,
        p.invoiced_at as event_at,
        p.original_invoice_no
    from per_invoice as p
        inner join {{ ref('stg_erp__invoices') }} as h on h.invoice_no = p.invoice_no
    where p.min_rank > 1
)

select
    {{ rec_columns() }},
    {{ hours_between('event_at', as_of()) }} > r.sla_hours as is_exception,
    original_invoice_no
from candidates
    cross join {{ rule('duplicate_invoice') }} as r
