select
    l.correlation_id,
    l.credit_memo_no,
    l.line_no,
    h.rma_no,
    h.customer_no,
    h.invoice_no,
    h.memo_at,
    l.item_no,
    l.qty,
    l.uom,
    l.qty_base,
    l.unit_price,
    l.extended_amount,
    h.total_amount as memo_total
from {{ ref('stg_erp__credit_memo_lines') }} as l
    inner join {{ ref('stg_erp__credit_memos') }} as h on h.credit_memo_no = l.credit_memo_no
