{{ config(
    materialized=('incremental' if target.type == 'duckdb' else 'table'),
    unique_key='so_no',
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
    pre_hook="{{ clear_unless_built_from_new_loads() }}",
) }}
{#- Every ERP sales order line of every channel, in base units, with its correlation id
    <so_no>-<line_no:03d> and the channel's own references.
    On DuckDB it is rebuilt only for the orders that loads since the last build touched: their
    header, their lines, or the unit conversions of their lines' items (macros/loads.sql). -#}
{%- set only_changed = builds_from_new_loads() %}
{%- if only_changed %}
with new_loads as (
    {{ new_load_ids(['erp']) }}
),

changed as (
    {{ from_new_loads(source('erp', 'sales_orders'), 'so_no') }}
    union
    {{ from_new_loads(source('erp', 'sales_order_lines'), 'so_no') }}
    union
    select l.so_no
    from {{ source('erp', 'sales_order_lines') }} as l
        inner join ({{ changed_item_uoms() }}) as u on u.item_no = l.item_no and u.uom = upper(l.uom)
)

{% endif -%}
select
    coalesce(l.correlation_id, {{ dbt.concat(["l.so_no", "'-'", "lpad(cast(l.line_no as " ~ dbt.type_string() ~ "), 3, '0')"]) }}) as correlation_id,
    l.so_no,
    l.line_no,
    o.channel,
    o.customer_no,
    o.ship_to_id,
    o.customer_po,
    o.channel_order_ref,
    l.channel_line_ref,
    o.warehouse_code,
    o.carrier_scac,
    o.ordered_at,
    o.entered_at,
    l.item_no,
    l.qty,
    l.uom,
    l.uom_factor,
    l.qty_base,
    l.unit_price,
    cast(l.unit_price / l.uom_factor as decimal(18, 6)) as unit_price_base,
    l.extended_amount,
    l.qty_shipped_base,
    l.qty_backordered_base,
    l.status as line_status,
    o.status as order_status,
    l.updated_at,
    {{ load_bookkeeping(['erp']) }}
from {{ ref('stg_erp__sales_order_lines') }} as l
    inner join {{ ref('stg_erp__sales_orders') }} as o on o.so_no = l.so_no
{%- if only_changed %}
    inner join changed as c on c.so_no = l.so_no
{%- endif %}
