{#- ERP carrier_rates: typed, renamed, one row per key (latest updated_at wins). -#}
with ranked as (
    select
        src.*,
        row_number() over (partition by src.scac, src.zone order by src.updated_at desc) as _rn
    from {{ source('erp', 'carrier_rates') }} as src
)

select
    cast(src.scac as {{ dbt.type_string() }}) as scac,
    cast(src.zone as {{ dbt.type_bigint() }}) as zone,
    cast(src.base_charge as decimal(18, 2)) as base_charge,
    cast(src.per_lb as decimal(18, 2)) as per_lb,
    cast(src.min_charge as decimal(18, 2)) as min_charge,
    cast(src.updated_at as {{ dbt.type_timestamp() }}) as updated_at
from ranked as src
where src._rn = 1
