{#- ERP customer_ship_tos: typed, renamed, one row per key (dlt merges on the key; its unique test guards it). -#}
select
    cast(src.ship_to_id as {{ dbt.type_string() }}) as ship_to_id,
    cast(src.customer_no as {{ dbt.type_string() }}) as customer_no,
    cast(src.name as {{ dbt.type_string() }}) as name,
    cast(src.address1 as {{ dbt.type_string() }}) as address1,
    cast(src.city as {{ dbt.type_string() }}) as city,
    cast(src.state as {{ dbt.type_string() }}) as state,
    cast(src.postal_code as {{ dbt.type_string() }}) as postal_code,
    cast(src.country as {{ dbt.type_string() }}) as country,
    cast(src.gln as {{ dbt.type_string() }}) as gln,
    cast(src.zone as {{ dbt.type_bigint() }}) as zone,
    cast(src.updated_at as {{ dbt.type_timestamp() }}) as updated_at
from {{ source('erp', 'customer_ship_tos') }} as src
