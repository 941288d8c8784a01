{#- Shipped (posted in the ERP) but not invoiced, by quantity.
    Invoice lines cover shipment lines first by (shipment_id, correlation_id) - the ERP writes the
    shipment on each invoice line, which is how one consolidated invoice covers several (split)
    shipments - and any invoice quantity without a shipment reference is then allocated to the
    line's shipments oldest first. A shipment line some invoice line refers to but with another
    quantity is an invoice_qty_variance, not this exception: here the shipped quantity is
    uncovered by any invoice. The clock starts at ship time. -#}
with shipped as (
    select
        shipment_id,
        correlation_id,
        min(so_no) as so_no,
        min(shipped_at) as shipped_at,
        min(posted_at) as posted_at,
        sum(qty_base) as shipped_base
    from {{ ref('fct_shipment_lines') }}
    where source_system = 'erp' and not is_duplicate_posting
    group by shipment_id, correlation_id
),

erp_invoice_lines as (
    select * from {{ ref('fct_invoice_lines') }}
    where source_system = 'erp'
),

by_reference as (
    select shipment_id, correlation_id, sum(qty_base) as invoiced_base, min(invoice_no) as invoice_no
    from erp_invoice_lines
    where shipment_id is not null
    group by shipment_id, correlation_id
),

unreferenced as (
    select correlation_id, sum(qty_base) as invoiced_base
    from erp_invoice_lines
    where shipment_id is null
    group by correlation_id
),

fifo as (
    select
        s.*,
        coalesce(sum(s.shipped_base) over (
            partition by s.correlation_id order by s.shipped_at, s.shipment_id
            rows between unbounded preceding and 1 preceding), 0) as shipped_before
    from shipped as s
),

coverage as (
    select
        f.*,
        br.invoice_no,
        coalesce(br.invoiced_base, 0) as referenced_base,
        greatest(0, least(f.shipped_base, coalesce(u.invoiced_base, 0) - f.shipped_before)) as allocated_base
    from fifo as f
        left join by_reference as br on br.shipment_id = f.shipment_id and br.correlation_id = f.correlation_id
        left join unreferenced as u on u.correlation_id = f.correlation_id
),

candidates as (
    select
        {{ dbt.concat(["c.shipment_id", "':'", "c.correlation_id"]) }} as exception_key,
        c.correlation_id,
        {{ json_object([('shipment_id', 'c.shipment_id'), ('so_no', 'c.so_no')]) }} as documents,
        c.shipped_base - least(c.shipped_base, c.allocated_base) as difference,
        (c.shipped_base - least(c.shipped_base, c.allocated_base)) * o.unit_price_base as amount_at_risk,
        c.shipped_at as event_at,
        c.shipped_base,
        c.referenced_base,
        c.allocated_base,
        c.posted_at
    from coverage as c
        left join {{ ref('fct_order_lines') }} as o on o.correlation_id = c.correlation_id
    where c.invoice_no is null and c.allocated_base < c.shipped_base
)

select
    {{ rec_columns() }},
    {{ hours_between('event_at', as_of()) }} > r.sla_hours as is_exception,
    shipped_base,
    allocated_base as invoiced_base,
    posted_at
from candidates
    cross join {{ rule('shipped_not_invoiced') }} as r
