{#- WMS physical on-hand per day x warehouse x item x lot, base units. -#}
select
    cast(id as {{ dbt.type_string() }}) as snapshot_id,
    cast(cast(snapshot_date as {{ dbt.type_string() }}) as date) as snapshot_date,
    cast(warehouse_code as {{ dbt.type_string() }}) as warehouse_code,
    cast(item_no as {{ dbt.type_string() }}) as item_no,
    coalesce(cast(lot_no as {{ dbt.type_string() }}), '') as lot_no,
    cast(on_hand_base as {{ dbt.type_bigint() }}) as on_hand_base,
    {{ utc_ts('cast(updated_at as ' ~ dbt.type_string() ~ ')') }} as updated_at
from {{ source('wms', 'inventory_snapshots') }} as src
