{#- ERP shipments: typed, renamed, one row per key (dlt merges on the key; its unique test guards it). -#}
select
    cast(src.ship_confirm_no as {{ dbt.type_string() }}) as ship_confirm_no,
    cast(src.shipment_id as {{ dbt.type_string() }}) as shipment_id,
    cast(src.so_no as {{ dbt.type_string() }}) as so_no,
    cast(src.warehouse_code as {{ dbt.type_string() }}) as warehouse_code,
    cast(src.carrier_scac as {{ dbt.type_string() }}) as carrier_scac,
    cast(src.tracking_no as {{ dbt.type_string() }}) as tracking_no,
    cast(src.pro_no as {{ dbt.type_string() }}) as pro_no,
    cast(src.bol_no as {{ dbt.type_string() }}) as bol_no,
    cast(src.shipped_at as {{ dbt.type_timestamp() }}) as shipped_at,
    cast(src.posted_at as {{ dbt.type_timestamp() }}) as posted_at,
    cast(src.source as {{ dbt.type_string() }}) as source,
    cast(src.weight_lb as decimal(18, 1)) as weight_lb,
    cast(src.updated_at as {{ dbt.type_timestamp() }}) as updated_at
from {{ source('erp', 'shipments') }} as src
