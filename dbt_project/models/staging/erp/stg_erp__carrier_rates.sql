{#- ERP carrier_rates: typed, renamed, one row per key (dlt merges on the key; its unique test guards it). -#}
select
    cast(src.scac as {{ dbt.type_string() }}) as scac,
    cast(src.zone as {{ dbt.type_bigint() }}) as zone,
    cast(src.base_charge as decimal(18, 2)) as base_charge,
    cast(src.per_lb as decimal(18, 2)) as per_lb,
    cast(src.min_charge as decimal(18, 2)) as min_charge,
    cast(src.updated_at as {{ dbt.type_timestamp() }}) as updated_at
from {{ source('erp', 'carrier_rates') }} as src
