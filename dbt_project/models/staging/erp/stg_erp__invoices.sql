{#- ERP invoices: typed, renamed, one row per key (dlt merges on the key; its unique test guards it). -#}
select
    cast(src.invoice_no as {{ dbt.type_string() }}) as invoice_no,
    cast(src.so_no as {{ dbt.type_string() }}) as so_no,
    cast(src.customer_no as {{ dbt.type_string() }}) as customer_no,
    cast(src.invoice_date as {{ dbt.type_timestamp() }}) as invoiced_at,
    cast(src.due_date as {{ dbt.type_timestamp() }}) as due_at,
    cast(src.terms as {{ dbt.type_string() }}) as terms,
    cast(src.subtotal as decimal(18, 2)) as subtotal,
    cast(src.freight_amount as decimal(18, 2)) as freight_amount,
    cast(src.tax_amount as decimal(18, 2)) as tax_amount,
    cast(src.total_amount as decimal(18, 2)) as total_amount,
    cast(src.status as {{ dbt.type_string() }}) as status,
    cast(src.is_consolidated as boolean) as is_consolidated,
    cast(src.updated_at as {{ dbt.type_timestamp() }}) as updated_at
from {{ source('erp', 'invoices') }} as src
