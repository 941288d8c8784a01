{#- ERP channel_fee_rates: typed, renamed, one row per key (dlt merges on the key; its unique test guards it). -#}
select
    cast(src.channel as {{ dbt.type_string() }}) as channel,
    cast(src.fee_pct as decimal(9, 4)) as fee_pct,
    cast(src.fee_fixed as decimal(18, 2)) as fee_fixed,
    cast(src.basis as {{ dbt.type_string() }}) as basis,
    cast(src.updated_at as {{ dbt.type_timestamp() }}) as updated_at
from {{ source('erp', 'channel_fee_rates') }} as src
