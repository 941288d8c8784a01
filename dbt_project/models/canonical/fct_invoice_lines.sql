{{ config(
    materialized=('incremental' if target.type == 'duckdb' else 'table'),
    unique_key='invoice_no',
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
    pre_hook="{{ clear_unless_built_from_new_loads() }}",
) }}
{#- Invoice lines as the ERP books them (`erp`) and as the 810 transmitted them (`810`),
    in base units, with the order line's price for comparison.
    On DuckDB it is rebuilt only for the invoices (both sides of each) that loads since the last
    build touched: the ERP invoice or its lines, the 810, the unit conversions of their items, or
    the order lines they refer to (macros/loads.sql). -#}

{%- set only_changed = builds_from_new_loads() %}
{%- set str = dbt.type_string() %}
{%- set heads_810 = source_or_empty('edi', 'x12_810_headers', {
    'invoice_number': str, 'po_number': str, '_dlt_load_id': str}) %}
with
{%- if only_changed %}
new_loads as (
    {{ new_load_ids(['erp', 'edi']) }}
),

changed_uoms as (
    {{ changed_item_uoms() }}
),

-- order lines rebuilt since this table was: the order price an invoice line carries, and the
-- order an 810 finds through its PO
changed_orders as (
    select correlation_id, so_no, customer_po, channel from {{ ref('fct_order_lines') }}
    where _loaded_through > {{ watermark() }}
),

changed as (
    {{ from_new_loads(source('erp', 'invoices'), 'invoice_no') }}
    union
    {{ from_new_loads(source('erp', 'invoice_lines'), 'invoice_no') }}
    union
    select l.invoice_no from {{ ref('stg_erp__invoice_lines') }} as l
        inner join changed_uoms as u on u.item_no = l.item_no and u.uom = l.uom
    union
    select l.invoice_no from {{ ref('stg_erp__invoice_lines') }} as l
        inner join changed_orders as o on o.correlation_id = l.correlation_id
    union
    {{ from_new_loads(heads_810, 'cast(invoice_number as ' ~ str ~ ')') }}
    union
    select l.invoice_no from {{ ref('stg_edi__810_lines') }} as l
        inner join changed_uoms as u on u.item_no = l.item_no and u.uom = l.uom
    union
    select cast(h.invoice_number as {{ str }}) from {{ heads_810 }} as h
        inner join changed_orders as o on o.customer_po = h.po_number and o.channel = 'edi'
    union
    -- an order without lines still names the sales order an 810 belongs to
    select cast(h.invoice_number as {{ str }}) from {{ heads_810 }} as h
        inner join {{ source('erp', 'sales_orders') }} as o
            on o.customer_po = h.po_number and o.channel = 'edi'
    where o._dlt_load_id in (select load_id from new_loads)
),
{%- endif %}

erp as (
    select
        'erp' as source_system,
        l.invoice_no,
        l.line_no,
        l.shipment_id,
        l.correlation_id,
        l.so_no,
        l.so_line_no,
        l.item_no,
        l.qty,
        l.uom,
        l.uom_factor,
        l.qty_base,
        l.unit_price,
        l.extended_amount,
        h.invoiced_at,
        h.customer_no,
        h.is_consolidated
    from {{ ref('stg_erp__invoice_lines') }} as l
        inner join {{ ref('stg_erp__invoices') }} as h on h.invoice_no = l.invoice_no
    {%- if only_changed %}
    where l.invoice_no in (select invoice_no from changed)
    {%- endif %}
),

edi as (
    select
        '810' as source_system,
        invoice_no,
        line_no,
        cast(null as {{ dbt.type_string() }}) as shipment_id,
        correlation_id,
        so_no,
        so_line_no,
        item_no,
        qty,
        uom,
        uom_factor,
        qty_base,
        unit_price,
        extended_amount,
        invoiced_at,
        cast(null as {{ dbt.type_string() }}) as customer_no,
        cast(null as boolean) as is_consolidated
    from {{ ref('stg_edi__810_lines') }}
    {%- if only_changed %}
    where invoice_no in (select invoice_no from changed)
    {%- endif %}
),

unioned as (
    select * from erp
    union all
    select * from edi
)

select
    {{ dbt.concat(["u.source_system", "':'", "u.invoice_no", "':'", "cast(u.line_no as " ~ dbt.type_string() ~ ")"]) }} as invoice_line_key,
    u.*,
    cast(u.unit_price / u.uom_factor as decimal(18, 6)) as unit_price_base,
    o.unit_price_base as order_unit_price_base,
    o.uom as order_uom,
    {{ load_bookkeeping(['erp', 'edi']) }}
from unioned as u
    left join {{ ref('fct_order_lines') }} as o on o.correlation_id = u.correlation_id
