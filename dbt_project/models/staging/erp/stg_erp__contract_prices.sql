{#- ERP contract_prices: typed, renamed, one row per key (dlt merges on the key; its unique test guards it). -#}
select
    cast(src.customer_no as {{ dbt.type_string() }}) as customer_no,
    cast(src.item_no as {{ dbt.type_string() }}) as item_no,
    upper(trim(cast(src.uom as {{ dbt.type_string() }}))) as uom,
    cast(src.unit_price as decimal(18, 2)) as unit_price,
    cast(src.effective_from as {{ dbt.type_string() }}) as effective_from,
    cast(src.updated_at as {{ dbt.type_timestamp() }}) as updated_at
from {{ source('erp', 'contract_prices') }} as src
