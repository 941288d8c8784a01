{{ config(
    materialized=('incremental' if target.type == 'duckdb' else 'table'),
    unique_key='shipment_line_key',
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
    pre_hook="{{ clear_unless_built_from_new_loads() }}",
) }}
{#- Shipment lines as each system reports them, one row per system's line:
    `wms` (the company's DCs), `945` (the 3PL's warehouse shipping advice) and `erp` (ship
    confirms posted in the ERP; a duplicate posting of the same shipment is kept and flagged).
    On DuckDB it is rebuilt only for the shipments (every system's lines of each) that loads since
    the last build touched: the WMS shipment, the ERP ship confirms, the 945, the unit conversions
    of their items, or the orders a 945 line is matched to (macros/loads.sql). -#}

-- depends_on: {{ ref('fct_order_lines') }}
{%- set only_changed = builds_from_new_loads() %}
{%- set str = dbt.type_string() %}
with
{%- if only_changed %}
new_loads as (
    {{ new_load_ids(['erp', 'wms', 'edi']) }}
),

changed_uoms as (
    {{ changed_item_uoms() }}
),

changed as (
    {{ from_new_loads(source('wms', 'shipments'), 'cast(id as ' ~ str ~ ') as shipment_id') }}
    union
    {{ from_new_loads(source('wms', 'shipment_lines'), 'cast(shipment_id as ' ~ str ~ ')') }}
    union
    select l.shipment_id from {{ ref('stg_wms__shipment_lines') }} as l
        inner join changed_uoms as u on u.item_no = l.item_no and u.uom = l.uom
    union
    {{ from_new_loads(source('erp', 'shipments'), 'shipment_id') }}
    union
    {{ from_new_loads(source('erp', 'shipment_lines'), 'shipment_id') }}
    union
    select l.shipment_id from {{ ref('stg_erp__shipment_lines') }} as l
        inner join changed_uoms as u on u.item_no = l.item_no and u.uom = l.uom
    union
    {{ from_new_loads(source_or_empty('edi', 'x12_945_shipments', {
        'shipment_id': str, '_dlt_load_id': str}), 'cast(shipment_id as ' ~ str ~ ')') }}
    union
    {{ from_new_loads(source_or_empty('edi', 'x12_945_lines', {
        'shipment_id': str, '_dlt_load_id': str}), 'cast(shipment_id as ' ~ str ~ ')') }}
    union
    select l.shipment_id from {{ ref('stg_edi__945_lines') }} as l
        inner join changed_uoms as u on u.item_no = l.item_no and u.uom = l.uom
    union
    -- a 945 line is matched to its order's lines, and takes the order's warehouse
    select l.shipment_id from {{ ref('stg_edi__945_lines') }} as l
        inner join (
            select distinct so_no from {{ ref('fct_order_lines') }}
            where _loaded_through > {{ watermark() }}
        ) as o on o.so_no = l.so_no
),
{%- endif %}

erp as (
    select
        l.ship_confirm_no,
        l.line_no,
        l.shipment_id,
        l.correlation_id,
        l.so_no,
        l.so_line_no,
        l.item_no,
        nullif(l.lot_no, '') as lot_no,
        l.qty,
        l.uom,
        l.qty_base,
        h.warehouse_code,
        h.shipped_at,
        h.posted_at,
        h.source as posted_from
    from {{ ref('stg_erp__shipment_lines') }} as l
        inner join {{ ref('stg_erp__shipments') }} as h on h.ship_confirm_no = l.ship_confirm_no
    {%- if only_changed %}
    -- ship confirms without a shipment id rank among each other: all of them when one changed
    where l.shipment_id in (select c.shipment_id from changed as c)
        or (l.shipment_id is null and exists (select 1 from changed as c where c.shipment_id is null))
    {%- endif %}
),

-- Which posting of its shipment each ship confirm is. Ranked over the distinct postings, not the
-- lines: a window over the lines sorted every wide line row (9 s of 32 at 10M order lines).
postings as (
    select
        shipment_id,
        ship_confirm_no,
        dense_rank() over (partition by shipment_id order by posted_at, ship_confirm_no) as posting_rank
    from (select distinct shipment_id, ship_confirm_no, posted_at from erp) as p
)

select
    'wms' as source_system,
    {{ dbt.concat(["'wms:'", "l.shipment_line_id"]) }} as shipment_line_key,
    l.shipment_id,
    cast(null as {{ dbt.type_string() }}) as ship_confirm_no,
    l.correlation_id,
    l.so_no,
    l.so_line_no,
    l.item_no,
    l.lot_no,
    l.qty,
    l.uom,
    l.qty_base,
    h.warehouse_code,
    h.shipped_at,
    cast(null as {{ dbt.type_timestamp() }}) as posted_at,
    false as is_duplicate_posting,
    {{ load_bookkeeping(['erp', 'wms', 'edi']) }}
from {{ ref('stg_wms__shipment_lines') }} as l
    inner join {{ ref('stg_wms__shipments') }} as h on h.shipment_id = l.shipment_id
{%- if only_changed %}
where l.shipment_id in (select c.shipment_id from changed as c)
{%- endif %}

union all

select
    '945' as source_system,
    {{ dbt.concat(["'945:'", "shipment_id", "':'", "cast(line_index as " ~ dbt.type_string() ~ ")"]) }},
    shipment_id,
    cast(null as {{ dbt.type_string() }}),
    correlation_id,
    so_no,
    so_line_no,
    item_no,
    lot_no,
    qty,
    uom,
    qty_base,
    warehouse_code,
    shipped_at,
    cast(null as {{ dbt.type_timestamp() }}),
    false,
    {{ load_bookkeeping(['erp', 'wms', 'edi']) }}
from {{ ref('stg_edi__945_lines') }} as a
{%- if only_changed %}
where a.shipment_id in (select c.shipment_id from changed as c)
{%- endif %}

union all

select
    'erp' as source_system,
    {{ dbt.concat(["'erp:'", "e.ship_confirm_no", "':'", "cast(e.line_no as " ~ dbt.type_string() ~ ")"]) }},
    e.shipment_id,
    e.ship_confirm_no,
    e.correlation_id,
    e.so_no,
    e.so_line_no,
    e.item_no,
    e.lot_no,
    e.qty,
    e.uom,
    e.qty_base,
    e.warehouse_code,
    e.shipped_at,
    e.posted_at,
    p.posting_rank > 1,
    {{ load_bookkeeping(['erp', 'wms', 'edi']) }}
from erp as e
    inner join postings as p
        on p.ship_confirm_no = e.ship_confirm_no and p.shipment_id is not distinct from e.shipment_id
