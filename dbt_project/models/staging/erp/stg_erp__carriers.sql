{#- ERP carriers: typed, renamed, one row per key (latest updated_at wins). -#}
with ranked as (
    select
        src.*,
        row_number() over (partition by src.scac order by src.updated_at desc) as _rn
    from {{ source('erp', 'carriers') }} as src
)

select
    cast(src.scac as {{ dbt.type_string() }}) as scac,
    cast(src.name as {{ dbt.type_string() }}) as name,
    cast(src.mode as {{ dbt.type_string() }}) as mode,
    cast(src.account_no as {{ dbt.type_string() }}) as account_no,
    cast(src.fuel_surcharge_pct as decimal(9, 4)) as fuel_surcharge_pct,
    cast(src.updated_at as {{ dbt.type_timestamp() }}) as updated_at
from ranked as src
where src._rn = 1
