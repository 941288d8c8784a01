{#- ERP cash_receipts: typed, renamed, one row per key (dlt merges on the key; its unique test guards it). -#}
select
    cast(src.receipt_no as {{ dbt.type_string() }}) as receipt_no,
    cast(src.customer_no as {{ dbt.type_string() }}) as customer_no,
    cast(src.received_at as {{ dbt.type_timestamp() }}) as received_at,
    cast(src.posted_at as {{ dbt.type_timestamp() }}) as posted_at,
    cast(src.method as {{ dbt.type_string() }}) as method,
    cast(src.reference as {{ dbt.type_string() }}) as reference,
    cast(src.amount as decimal(18, 2)) as amount,
    cast(src.unapplied_amount as decimal(18, 2)) as unapplied_amount,
    cast(src.updated_at as {{ dbt.type_timestamp() }}) as updated_at
from {{ source('erp', 'cash_receipts') }} as src
