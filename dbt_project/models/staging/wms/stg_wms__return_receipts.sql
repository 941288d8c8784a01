{#- WMS return receipts (goods back in the warehouse against an RMA), base units. -#}
select
    cast(src.id as {{ dbt.type_string() }}) as return_receipt_no,
    cast(src.rma_no as {{ dbt.type_string() }}) as rma_no,
    cast(src.correlation_id as {{ dbt.type_string() }}) as correlation_id,
    cast(src.warehouse_code as {{ dbt.type_string() }}) as warehouse_code,
    cast(src.item_no as {{ dbt.type_string() }}) as item_no,
    cast(src.qty as {{ dbt.type_bigint() }}) as qty,
    upper(trim(cast(src.uom as {{ dbt.type_string() }}))) as uom,
    coalesce(src.qty * u.factor_to_base, src.qty_base) as qty_base,
    cast(src.condition as {{ dbt.type_string() }}) as item_condition,
    {{ utc_ts('src.received_at') }} as received_at,
    {{ utc_ts('src.updated_at') }} as updated_at
from {{ source('wms', 'return_receipts') }} as src
    left join {{ source('erp', 'item_uoms') }} as u
        on u.item_no = src.item_no and upper(u.uom) = upper(src.uom)
