{#- ERP freight_accruals: typed, renamed, one row per key (dlt merges on the key; its unique test guards it). -#}
select
    cast(src.accrual_no as {{ dbt.type_string() }}) as accrual_no,
    cast(src.shipment_id as {{ dbt.type_string() }}) as shipment_id,
    cast(src.ship_confirm_no as {{ dbt.type_string() }}) as ship_confirm_no,
    cast(src.carrier_scac as {{ dbt.type_string() }}) as carrier_scac,
    cast(src.tracking_no as {{ dbt.type_string() }}) as tracking_no,
    cast(src.accrued_at as {{ dbt.type_timestamp() }}) as accrued_at,
    cast(src.zone as {{ dbt.type_bigint() }}) as zone,
    cast(src.billed_weight_lb as {{ dbt.type_bigint() }}) as billed_weight_lb,
    cast(src.amount as decimal(18, 2)) as amount,
    cast(src.updated_at as {{ dbt.type_timestamp() }}) as updated_at
from {{ source('erp', 'freight_accruals') }} as src
