{#- ERP credit_memos: typed, renamed, one row per key (dlt merges on the key; its unique test guards it). -#}
select
    cast(src.credit_memo_no as {{ dbt.type_string() }}) as credit_memo_no,
    cast(src.rma_no as {{ dbt.type_string() }}) as rma_no,
    cast(src.customer_no as {{ dbt.type_string() }}) as customer_no,
    cast(src.invoice_no as {{ dbt.type_string() }}) as invoice_no,
    cast(src.memo_date as {{ dbt.type_timestamp() }}) as memo_at,
    cast(src.total_amount as decimal(18, 2)) as total_amount,
    cast(src.updated_at as {{ dbt.type_timestamp() }}) as updated_at
from {{ source('erp', 'credit_memos') }} as src
