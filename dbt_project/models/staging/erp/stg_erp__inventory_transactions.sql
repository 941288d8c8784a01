{#- ERP inventory_transactions: typed, renamed, one row per key (dlt merges on the key; its unique test guards it). -#}
select
    cast(src.txn_no as {{ dbt.type_string() }}) as txn_no,
    cast(src.txn_at as {{ dbt.type_timestamp() }}) as txn_at,
    cast(src.warehouse_code as {{ dbt.type_string() }}) as warehouse_code,
    cast(src.item_no as {{ dbt.type_string() }}) as item_no,
    cast(src.lot_no as {{ dbt.type_string() }}) as lot_no,
    cast(src.txn_type as {{ dbt.type_string() }}) as txn_type,
    cast(src.qty_base as {{ dbt.type_bigint() }}) as qty_base,
    cast(src.reference as {{ dbt.type_string() }}) as reference,
    cast(src.updated_at as {{ dbt.type_timestamp() }}) as updated_at
from {{ source('erp', 'inventory_transactions') }} as src
