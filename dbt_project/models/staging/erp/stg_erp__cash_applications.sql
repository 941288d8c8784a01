{#- ERP cash_applications: typed, renamed, one row per key (dlt merges on the key; its unique test guards it). -#}
select
    cast(src.receipt_no as {{ dbt.type_string() }}) as receipt_no,
    cast(src.invoice_no as {{ dbt.type_string() }}) as invoice_no,
    cast(src.amount_applied as decimal(18, 2)) as amount_applied,
    cast(src.discount_taken as decimal(18, 2)) as discount_taken,
    cast(src.short_paid_amount as decimal(18, 2)) as short_paid_amount,
    cast(src.adjustment_reason as {{ dbt.type_string() }}) as adjustment_reason,
    cast(src.applied_at as {{ dbt.type_timestamp() }}) as applied_at,
    cast(src.updated_at as {{ dbt.type_timestamp() }}) as updated_at
from {{ source('erp', 'cash_applications') }} as src
