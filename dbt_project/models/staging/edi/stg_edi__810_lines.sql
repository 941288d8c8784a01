{#- Invoices we transmitted (810) line by line, in base units. IT101 is the order line number;
    BIG04 the customer's PO, which identifies the ERP sales order. -#}
{%- set str = dbt.type_string() -%}
with lines as (
    select * from {{ source_or_empty('edi', 'x12_810_lines', {
        'line_index': dbt.type_bigint(), 'line_number': str, 'quantity': 'decimal(18, 4)', 'uom': str,
        'unit_price': 'decimal(18, 4)', 'extended_amount': 'decimal(18, 4)', 'vendor_item': str,
        'isa_control_number': str, 'gs_control_number': str, 'st_control_number': str, 'source_file': str}) }} as x
),

heads as (
    select * from {{ source_or_empty('edi', 'x12_810_headers', {
        'invoice_number': str, 'invoice_date': 'date', 'po_number': str, 'total_amount': 'decimal(18, 4)',
        'isa_control_number': str, 'gs_control_number': str, 'st_control_number': str, 'source_file': str}) }} as x
),

-- one copy of each invoice: a retransmitted interchange repeats it
head_one as (
    select * from (
        select h.*, row_number() over (
            partition by h.invoice_number order by h.isa_control_number, h.gs_control_number, h.st_control_number) as _rn
        from heads as h
    ) as x
    where _rn = 1
)

select
    cast(h.invoice_number as {{ str }}) as invoice_no,
    cast(l.line_index as {{ dbt.type_bigint() }}) as line_no,
    so.so_no,
    cast(l.line_number as {{ dbt.type_bigint() }}) as so_line_no,
    ol.correlation_id,
    cast(l.vendor_item as {{ str }}) as item_no,
    cast(l.quantity as {{ dbt.type_bigint() }}) as qty,
    {{ uom_code('l.uom') }} as uom,
    coalesce(u.factor_to_base, 1) as uom_factor,
    cast(l.quantity as {{ dbt.type_bigint() }}) * coalesce(u.factor_to_base, 1) as qty_base,
    cast(l.unit_price as decimal(18, 2)) as unit_price,
    cast(l.extended_amount as decimal(18, 2)) as extended_amount,
    cast(h.invoice_date as {{ dbt.type_timestamp() }}) as invoiced_at,
    cast(h.total_amount as decimal(18, 2)) as tds_total,
    cast(h.isa_control_number as {{ str }}) as isa_control_number,
    cast(h.gs_control_number as {{ str }}) as gs_control_number,
    cast(h.st_control_number as {{ str }}) as st_control_number
from head_one as h
    inner join lines as l
        on l.source_file = h.source_file
        and l.isa_control_number = h.isa_control_number
        and l.gs_control_number = h.gs_control_number
        and l.st_control_number = h.st_control_number
    left join {{ ref('stg_erp__sales_orders') }} as so on so.customer_po = h.po_number and so.channel = 'edi'
    left join {{ ref('stg_erp__sales_order_lines') }} as ol
        on ol.so_no = so.so_no and ol.line_no = cast(l.line_number as {{ dbt.type_bigint() }})
    left join {{ source('erp', 'item_uoms') }} as u
        on u.item_no = cast(l.vendor_item as {{ str }}) and u.uom = {{ uom_code('l.uom') }}
