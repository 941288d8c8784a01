{#- Invoice lines as the ERP books them (`erp`) and as the 810 transmitted them (`810`),
    in base units, with the order line's price for comparison. -#}
with erp as (
    select
        'erp' as source_system,
        l.invoice_no,
        l.line_no,
        l.shipment_id,
        l.correlation_id,
        l.so_no,
        l.so_line_no,
        l.item_no,
        l.qty,
        l.uom,
        l.uom_factor,
        l.qty_base,
        l.unit_price,
        l.extended_amount,
        h.invoiced_at,
        h.customer_no,
        h.is_consolidated
    from {{ ref('stg_erp__invoice_lines') }} as l
        inner join {{ ref('stg_erp__invoices') }} as h on h.invoice_no = l.invoice_no
),

edi as (
    select
        '810' as source_system,
        invoice_no,
        line_no,
        cast(null as {{ dbt.type_string() }}) as shipment_id,
        correlation_id,
        so_no,
        so_line_no,
        item_no,
        qty,
        uom,
        uom_factor,
        qty_base,
        unit_price,
        extended_amount,
        invoiced_at,
        cast(null as {{ dbt.type_string() }}) as customer_no,
        cast(null as boolean) as is_consolidated
    from {{ ref('stg_edi__810_lines') }}
),

unioned as (
    select * from erp
    union all
    select * from edi
)

select
    {{ dbt.concat(["u.source_system", "':'", "u.invoice_no", "':'", "cast(u.line_no as " ~ dbt.type_string() ~ ")"]) }} as invoice_line_key,
    u.*,
    cast(u.unit_price / u.uom_factor as decimal(18, 6)) as unit_price_base,
    o.unit_price_base as order_unit_price_base,
    o.uom as order_uom
from unioned as u
    left join {{ ref('fct_order_lines') }} as o on o.correlation_id = u.correlation_id
