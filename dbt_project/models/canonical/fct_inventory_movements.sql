{#- Inventory movements as the WMS records them and as the ERP books them (base units). -#}
select
    'wms' as source_system,
    movement_id as movement_key,
    moved_at,
    warehouse_code,
    item_no,
    lot_no,
    movement_type,
    qty_base,
    reference
from {{ ref('stg_wms__inventory_movements') }}
union all
select
    'erp',
    txn_no,
    txn_at,
    warehouse_code,
    item_no,
    coalesce(lot_no, ''),
    txn_type,
    qty_base,
    reference
from {{ ref('stg_erp__inventory_transactions') }}
