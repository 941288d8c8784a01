select
    correlation_id,
    return_receipt_no,
    rma_no,
    warehouse_code,
    item_no,
    qty,
    uom,
    qty_base,
    item_condition,
    received_at
from {{ ref('stg_wms__return_receipts') }}
