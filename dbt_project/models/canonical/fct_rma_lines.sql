{#- RMA lines with what the warehouse received and what was credited against them: the
    returns document chain RMA -> return receipt -> credit memo, per correlation id. -#}
with receipts as (
    select rma_no, min(return_receipt_no) as return_receipt_no, min(received_at) as received_at,
           sum(qty_base) as received_base
    from {{ ref('stg_wms__return_receipts') }}
    group by rma_no
),

credits as (
    select rma_no, min(credit_memo_no) as credit_memo_no, min(memo_at) as credited_at,
           sum(total_amount) as credited_amount
    from {{ ref('stg_erp__credit_memos') }}
    group by rma_no
)

select
    l.correlation_id,
    r.rma_no,
    l.line_no,
    r.customer_no,
    r.so_no,
    r.invoice_no,
    r.channel,
    r.channel_return_ref,
    r.created_at,
    r.window_days,
    r.reason_code,
    r.status,
    r.expected_credit,
    l.item_no,
    l.qty,
    l.uom,
    l.uom_factor,
    l.qty_base,
    l.unit_price,
    rc.return_receipt_no,
    rc.received_at,
    coalesce(rc.received_base, 0) as received_base,
    c.credit_memo_no,
    c.credited_at,
    c.credited_amount
from {{ ref('stg_erp__rmas') }} as r
    inner join {{ ref('stg_erp__rma_lines') }} as l on l.rma_no = r.rma_no
    left join receipts as rc on rc.rma_no = r.rma_no
    left join credits as c on c.rma_no = r.rma_no
