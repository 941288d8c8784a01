{#- ERP sales_orders: typed, renamed, one row per key (dlt merges on the key; its unique test guards it). -#}
select
    cast(src.so_no as {{ dbt.type_string() }}) as so_no,
    cast(src.customer_no as {{ dbt.type_string() }}) as customer_no,
    cast(src.ship_to_id as {{ dbt.type_string() }}) as ship_to_id,
    cast(src.channel as {{ dbt.type_string() }}) as channel,
    cast(src.customer_po as {{ dbt.type_string() }}) as customer_po,
    cast(src.channel_order_ref as {{ dbt.type_string() }}) as channel_order_ref,
    cast(src.order_date as {{ dbt.type_timestamp() }}) as ordered_at,
    cast(src.entered_at as {{ dbt.type_timestamp() }}) as entered_at,
    cast(src.warehouse_code as {{ dbt.type_string() }}) as warehouse_code,
    cast(src.carrier_scac as {{ dbt.type_string() }}) as carrier_scac,
    cast(src.status as {{ dbt.type_string() }}) as status,
    cast(src.currency as {{ dbt.type_string() }}) as currency,
    cast(src.total_amount as decimal(18, 2)) as total_amount,
    cast(src.updated_at as {{ dbt.type_timestamp() }}) as updated_at
from {{ source('erp', 'sales_orders') }} as src
