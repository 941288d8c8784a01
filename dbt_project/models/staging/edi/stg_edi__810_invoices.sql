{#- Invoices we transmitted (810), header level: TDS total per invoice, one copy. -#}
{%- set str = dbt.type_string() -%}
with heads as (
    select * from {{ source_or_empty('edi', 'x12_810_headers', {
        'invoice_number': str, 'invoice_date': 'date', 'po_number': str, 'total_amount': 'decimal(18, 4)',
        'isa_sender_id': str, 'isa_receiver_id': str, 'isa_control_number': str, 'gs_control_number': str,
        'st_control_number': str, 'source_file': str}) }} as x
),

ranked as (
    select h.*, row_number() over (
        partition by h.invoice_number order by h.source_file, h.isa_control_number, h.st_control_number) as _rn
    from heads as h
)

select
    cast(invoice_number as {{ str }}) as invoice_no,
    cast(po_number as {{ str }}) as po_number,
    cast(invoice_date as {{ dbt.type_timestamp() }}) as invoiced_at,
    cast(total_amount as decimal(18, 2)) as tds_total,
    cast(isa_receiver_id as {{ str }}) as partner_isa_id,
    cast(isa_control_number as {{ str }}) as isa_control_number,
    cast(gs_control_number as {{ str }}) as gs_control_number,
    cast(st_control_number as {{ str }}) as st_control_number,
    cast(source_file as {{ str }}) as source_file
from ranked
where _rn = 1
