{#- ERP shipment_lines: typed, renamed, one row per key (dlt merges on the key; its unique test guards it). -#}
select
    cast(src.ship_confirm_no as {{ dbt.type_string() }}) as ship_confirm_no,
    cast(src.line_no as {{ dbt.type_bigint() }}) as line_no,
    cast(src.shipment_id as {{ dbt.type_string() }}) as shipment_id,
    cast(src.so_no as {{ dbt.type_string() }}) as so_no,
    cast(src.so_line_no as {{ dbt.type_bigint() }}) as so_line_no,
    cast(src.correlation_id as {{ dbt.type_string() }}) as correlation_id,
    cast(src.item_no as {{ dbt.type_string() }}) as item_no,
    cast(src.lot_no as {{ dbt.type_string() }}) as lot_no,
    cast(src.qty as {{ dbt.type_bigint() }}) as qty,
    upper(trim(cast(src.uom as {{ dbt.type_string() }}))) as uom,
    coalesce(src.qty * u.factor_to_base, src.qty_base) as qty_base,
    cast(src.qty_base as {{ dbt.type_bigint() }}) as source_qty_base,
    coalesce(u.factor_to_base, 1) as uom_factor,
    cast(src.updated_at as {{ dbt.type_timestamp() }}) as updated_at
from {{ source('erp', 'shipment_lines') }} as src
    left join {{ source('erp', 'item_uoms') }} as u
        on u.item_no = src.item_no and upper(u.uom) = upper(src.uom)
