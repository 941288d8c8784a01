{#- WMS shipments (DC-EAST, DC-WEST): one row per physical shipment, latest version. -#}
select
    cast(id as {{ dbt.type_string() }}) as shipment_id,
    cast(order_ref as {{ dbt.type_string() }}) as so_no,
    cast(warehouse_code as {{ dbt.type_string() }}) as warehouse_code,
    cast(ship_to_id as {{ dbt.type_string() }}) as ship_to_id,
    cast(carrier_scac as {{ dbt.type_string() }}) as carrier_scac,
    cast(tracking_no as {{ dbt.type_string() }}) as tracking_no,
    cast(pro_no as {{ dbt.type_string() }}) as pro_no,
    cast(bol_no as {{ dbt.type_string() }}) as bol_no,
    cast(status as {{ dbt.type_string() }}) as status,
    {{ utc_ts('picked_at') }} as picked_at,
    {{ utc_ts('shipped_at') }} as shipped_at,
    cast(weight_lb as decimal(12, 1)) as weight_lb,
    cast(line_count as {{ dbt.type_bigint() }}) as line_count,
    {{ utc_ts('updated_at') }} as updated_at
from {{ source('wms', 'shipments') }} as src
