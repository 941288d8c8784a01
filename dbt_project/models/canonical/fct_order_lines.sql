{#- Every ERP sales order line of every channel, in base units, with its correlation id
    <so_no>-<line_no:03d> and the channel's own references. -#}
select
    coalesce(l.correlation_id, {{ dbt.concat(["l.so_no", "'-'", "lpad(cast(l.line_no as " ~ dbt.type_string() ~ "), 3, '0')"]) }}) as correlation_id,
    l.so_no,
    l.line_no,
    o.channel,
    o.customer_no,
    o.ship_to_id,
    o.customer_po,
    o.channel_order_ref,
    l.channel_line_ref,
    o.warehouse_code,
    o.carrier_scac,
    o.ordered_at,
    o.entered_at,
    l.item_no,
    l.qty,
    l.uom,
    l.uom_factor,
    l.qty_base,
    l.unit_price,
    cast(l.unit_price / l.uom_factor as decimal(18, 6)) as unit_price_base,
    l.extended_amount,
    l.qty_shipped_base,
    l.qty_backordered_base,
    l.status as line_status,
    o.status as order_status,
    l.updated_at
from {{ ref('stg_erp__sales_order_lines') }} as l
    inner join {{ ref('stg_erp__sales_orders') }} as o on o.so_no = l.so_no
