{#- Inventory per snapshot day x warehouse x item x lot, base units: the ERP book, the physical
    count the warehouse reports (WMS snapshot for the DCs, the 3PL's 846 on-hand), and the
    quantity in transit (shipped, not yet posted) at that cutoff. -#}
with book as (
    select snapshot_date, warehouse_code, item_no, coalesce(lot_no, '') as lot_no, on_hand_base
    from {{ ref('stg_erp__inventory_balances') }}
),

physical as (
    select snapshot_date, warehouse_code, item_no, lot_no, on_hand_base, 'wms' as physical_source
    from {{ ref('stg_wms__inventory_snapshots') }}
    union all
    select snapshot_date, warehouse_code, item_no, lot_no, on_hand_base, '846' as physical_source
    from {{ ref('stg_edi__846_on_hand') }}
),

keys as (
    select snapshot_date, warehouse_code, item_no, lot_no from book
    union
    select snapshot_date, warehouse_code, item_no, lot_no from physical
)

select
    k.snapshot_date,
    k.warehouse_code,
    k.item_no,
    k.lot_no,
    {{ dbt.concat(["k.warehouse_code", "':'", "k.item_no", "':'", "k.lot_no"]) }} as inventory_key,
    b.on_hand_base as book_on_hand_base,
    p.on_hand_base as physical_on_hand_base,
    p.physical_source,
    coalesce(t.in_transit_base, 0) as in_transit_base,
    coalesce(t.shipments_in_transit, 0) as shipments_in_transit,
    t.oldest_shipped_at as oldest_in_transit_shipped_at,
    i.standard_cost,
    i.abc_class,
    k.snapshot_date = max(k.snapshot_date) over (partition by k.warehouse_code) as is_latest_snapshot
from keys as k
    left join book as b
        on b.snapshot_date = k.snapshot_date and b.warehouse_code = k.warehouse_code
        and b.item_no = k.item_no and b.lot_no = k.lot_no
    left join physical as p
        on p.snapshot_date = k.snapshot_date and p.warehouse_code = k.warehouse_code
        and p.item_no = k.item_no and p.lot_no = k.lot_no
    left join {{ ref('fct_inventory_in_transit') }} as t
        on t.snapshot_date = k.snapshot_date and t.warehouse_code = k.warehouse_code
        and t.item_no = k.item_no and t.lot_no = k.lot_no
    left join {{ ref('dim_items') }} as i on i.item_no = k.item_no
