{#- ERP item_uoms: typed, renamed, one row per key (dlt merges on the key; its unique test guards it). -#}
select
    cast(src.item_no as {{ dbt.type_string() }}) as item_no,
    upper(trim(cast(src.uom as {{ dbt.type_string() }}))) as uom,
    cast(src.factor_to_base as {{ dbt.type_bigint() }}) as factor_to_base,
    cast(src.updated_at as {{ dbt.type_timestamp() }}) as updated_at
from {{ source('erp', 'item_uoms') }} as src
