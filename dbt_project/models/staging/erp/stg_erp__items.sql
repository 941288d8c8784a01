{#- ERP items: typed, renamed, one row per key (dlt merges on the key; its unique test guards it). -#}
select
    cast(src.item_no as {{ dbt.type_string() }}) as item_no,
    cast(src.upc as {{ dbt.type_string() }}) as upc,
    cast(src.description as {{ dbt.type_string() }}) as description,
    upper(trim(cast(src.base_uom as {{ dbt.type_string() }}))) as base_uom,
    cast(src.case_qty as {{ dbt.type_bigint() }}) as case_qty,
    cast(src.pallet_qty as {{ dbt.type_bigint() }}) as pallet_qty,
    cast(src.weight_lb as decimal(18, 2)) as weight_lb,
    cast(src.standard_cost as decimal(18, 2)) as standard_cost,
    cast(src.list_price as decimal(18, 2)) as list_price,
    cast(src.lot_controlled as boolean) as lot_controlled,
    cast(src.abc_class as {{ dbt.type_string() }}) as abc_class,
    cast(src.updated_at as {{ dbt.type_timestamp() }}) as updated_at
from {{ source('erp', 'items') }} as src
