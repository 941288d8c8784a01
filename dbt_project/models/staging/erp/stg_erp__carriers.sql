{#- ERP carriers: typed, renamed, one row per key (dlt merges on the key; its unique test guards it). -#}
select
    cast(src.scac as {{ dbt.type_string() }}) as scac,
    cast(src.name as {{ dbt.type_string() }}) as name,
    cast(src.mode as {{ dbt.type_string() }}) as mode,
    cast(src.account_no as {{ dbt.type_string() }}) as account_no,
    cast(src.fuel_surcharge_pct as decimal(9, 4)) as fuel_surcharge_pct,
    cast(src.updated_at as {{ dbt.type_timestamp() }}) as updated_at
from {{ source('erp', 'carriers') }} as src
