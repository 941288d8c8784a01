{#- ERP warehouses: typed, renamed, one row per key (dlt merges on the key; its unique test guards it). -#}
select
    cast(src.warehouse_code as {{ dbt.type_string() }}) as warehouse_code,
    cast(src.name as {{ dbt.type_string() }}) as name,
    cast(src.operator as {{ dbt.type_string() }}) as operator,
    cast(src.system as {{ dbt.type_string() }}) as system,
    cast(src.city as {{ dbt.type_string() }}) as city,
    cast(src.state as {{ dbt.type_string() }}) as state,
    cast(src.updated_at as {{ dbt.type_timestamp() }}) as updated_at
from {{ source('erp', 'warehouses') }} as src
