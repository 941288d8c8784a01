{#- Shipment lines as each system reports them, one row per system's line:
    `wms` (the company's DCs), `945` (the 3PL's warehouse shipping advice) and `erp` (ship
    confirms posted in the ERP; a duplicate posting of the same shipment is kept and flagged). -#}
with erp as (
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
    false as is_duplicate_posting
from {{ ref('stg_wms__shipment_lines') }} as l
    inner join {{ ref('stg_wms__shipments') }} as h on h.shipment_id = l.shipment_id

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
    false
from {{ ref('stg_edi__945_lines') }}

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
    p.posting_rank > 1
from erp as e
    inner join postings as p
        on p.ship_confirm_no = e.ship_confirm_no and p.shipment_id is not distinct from e.shipment_id
