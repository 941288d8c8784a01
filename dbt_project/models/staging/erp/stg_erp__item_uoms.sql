{#- ERP item_uoms: typed, renamed, one row per key (latest updated_at wins). -#}
with ranked as (
    select
        src.*,
        row_number() over (partition by src.item_no, src.uom order by src.updated_at desc) as _rn
    from {{ source('erp', 'item_uoms') }} as src
)

select
    cast(src.item_no as {{ dbt.type_string() }}) as item_no,
    upper(trim(cast(src.uom as {{ dbt.type_string() }}))) as uom,
    cast(src.factor_to_base as {{ dbt.type_bigint() }}) as factor_to_base,
    cast(src.updated_at as {{ dbt.type_timestamp() }}) as updated_at
from ranked as src
where src._rn = 1
