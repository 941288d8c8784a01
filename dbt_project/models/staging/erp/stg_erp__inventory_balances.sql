{#- ERP inventory_balances: typed, renamed, one row per key (dlt merges on the key; its unique test guards it). -#}
select
    cast(cast(src.snapshot_date as {{ dbt.type_string() }}) as date) as snapshot_date,
    cast(src.warehouse_code as {{ dbt.type_string() }}) as warehouse_code,
    cast(src.item_no as {{ dbt.type_string() }}) as item_no,
    coalesce(cast(src.lot_no as {{ dbt.type_string() }}), '') as lot_no,
    cast(src.on_hand_base as {{ dbt.type_bigint() }}) as on_hand_base,
    cast(src.updated_at as {{ dbt.type_timestamp() }}) as updated_at
from {{ source('erp', 'inventory_balances') }} as src
