{#- ERP customers: typed, renamed, one row per key (dlt merges on the key; its unique test guards it). -#}
select
    cast(src.customer_no as {{ dbt.type_string() }}) as customer_no,
    cast(src.name as {{ dbt.type_string() }}) as name,
    cast(src.channel as {{ dbt.type_string() }}) as channel,
    cast(src.payment_terms as {{ dbt.type_string() }}) as payment_terms,
    cast(src.edi_partner_code as {{ dbt.type_string() }}) as edi_partner_code,
    cast(src.edi_isa_qualifier as {{ dbt.type_string() }}) as edi_isa_qualifier,
    cast(src.edi_isa_id as {{ dbt.type_string() }}) as edi_isa_id,
    cast(src.credit_limit as decimal(18, 2)) as credit_limit,
    cast(src.updated_at as {{ dbt.type_timestamp() }}) as updated_at
from {{ source('erp', 'customers') }} as src
