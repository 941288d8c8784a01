{#- Invariant: every open exception names documents that exist: its order line, and the sales
    order, invoice, shipment and RMA its documents mention. -#}
{{ config(meta={'dagster': {'ref': {'name': 'exceptions'}}}) }}  {#- a check of the queue in Dagster -#}
with exc as (
    select
        exception_id,
        exception_type,
        correlation_id,
        {{ json_text('documents', 'so_no') }} as so_no,
        {{ json_text('documents', 'invoice_no') }} as invoice_no,
        {{ json_text('documents', 'shipment_id') }} as shipment_id,
        {{ json_text('documents', 'rma_no') }} as rma_no
    from {{ ref('exceptions') }}
    where status = 'open'
)

select e.*
from exc as e
where (e.correlation_id is not null
       and not exists (select 1 from {{ ref('fct_order_lines') }} as o where o.correlation_id = e.correlation_id))
   or (e.so_no is not null
       and not exists (select 1 from {{ ref('stg_erp__sales_orders') }} as s where s.so_no = e.so_no))
   or (e.invoice_no is not null
       and not exists (select 1 from {{ ref('fct_invoice_lines') }} as i where i.invoice_no = e.invoice_no))
   or (e.shipment_id is not null
       and not exists (select 1 from {{ ref('fct_shipment_lines') }} as s where s.shipment_id = e.shipment_id)
       and not exists (select 1 from {{ ref('fct_freight') }} as f where f.shipment_id = e.shipment_id))
   or (e.rma_no is not null
       and not exists (select 1 from {{ ref('stg_erp__rmas') }} as r where r.rma_no = e.rma_no))
