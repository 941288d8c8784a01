{#- ERP rmas: typed, renamed, one row per key (dlt merges on the key; its unique test guards it). -#}
select
    cast(src.rma_no as {{ dbt.type_string() }}) as rma_no,
    cast(src.customer_no as {{ dbt.type_string() }}) as customer_no,
    cast(src.so_no as {{ dbt.type_string() }}) as so_no,
    cast(src.invoice_no as {{ dbt.type_string() }}) as invoice_no,
    cast(src.channel as {{ dbt.type_string() }}) as channel,
    cast(src.channel_return_ref as {{ dbt.type_string() }}) as channel_return_ref,
    cast(src.created_at as {{ dbt.type_timestamp() }}) as created_at,
    cast(src.window_days as {{ dbt.type_bigint() }}) as window_days,
    cast(src.reason_code as {{ dbt.type_string() }}) as reason_code,
    cast(src.status as {{ dbt.type_string() }}) as status,
    cast(src.expected_credit as decimal(18, 2)) as expected_credit,
    cast(src.updated_at as {{ dbt.type_timestamp() }}) as updated_at
from {{ source('erp', 'rmas') }} as src
