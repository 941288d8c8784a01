{#- WMS inventory movements (receipts, picks, adjustments, transfers), base units. -#}
select
    cast(id as {{ dbt.type_string() }}) as movement_id,
    {{ utc_ts('cast(moved_at as ' ~ dbt.type_string() ~ ')') }} as moved_at,
    cast(warehouse_code as {{ dbt.type_string() }}) as warehouse_code,
    cast(item_no as {{ dbt.type_string() }}) as item_no,
    coalesce(cast(lot_no as {{ dbt.type_string() }}), '') as lot_no,
    cast(movement_type as {{ dbt.type_string() }}) as movement_type,
    cast(qty_base as {{ dbt.type_bigint() }}) as qty_base,
    cast(reference as {{ dbt.type_string() }}) as reference,
    {{ utc_ts('cast(updated_at as ' ~ dbt.type_string() ~ ')') }} as updated_at
from {{ source('wms', 'inventory_movements') }} as src
