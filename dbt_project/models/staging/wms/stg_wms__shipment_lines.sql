{#- WMS shipment lines, quantities converted to base units through the ERP's item_uoms. -#}
select
    cast(src.id as {{ dbt.type_string() }}) as shipment_line_id,
    cast(src.shipment_id as {{ dbt.type_string() }}) as shipment_id,
    cast(src.order_ref as {{ dbt.type_string() }}) as so_no,
    cast(src.order_line_no as {{ dbt.type_bigint() }}) as so_line_no,
    cast(src.correlation_id as {{ dbt.type_string() }}) as correlation_id,
    cast(src.item_no as {{ dbt.type_string() }}) as item_no,
    nullif(cast(src.lot_no as {{ dbt.type_string() }}), '') as lot_no,
    cast(src.qty as {{ dbt.type_bigint() }}) as qty,
    upper(trim(cast(src.uom as {{ dbt.type_string() }}))) as uom,
    coalesce(src.qty * u.factor_to_base, src.qty_base) as qty_base,
    cast(src.qty_base as {{ dbt.type_bigint() }}) as source_qty_base,
    {{ utc_ts('src.updated_at') }} as updated_at
from {{ source('wms', 'shipment_lines') }} as src
    left join {{ source('erp', 'item_uoms') }} as u
        on u.item_no = src.item_no and upper(u.uom) = upper(src.uom)
