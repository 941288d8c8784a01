-- Lower bound: the three headline reconciliations (shipped-not-invoiced, inventory variance, the
-- returns family) hand-written in ONE DuckDB script, straight from the simulator's outputs.
-- Inputs registered by bench/bound.py: erp_<table> and wms_<table> (SQLite tables as Arrow),
-- x12_3pl (read_text of the 3PL's inbound X12 files), params(as_of timestamp).
-- Output: table bound_exceptions(exception_type, exception_key, amount_at_risk), same rules as
-- dbt_project/models/reconciliation/rec_*.sql and docs/simulated-company.md.

create or replace temp table bound_exceptions as
with
p as (select as_of from params),

-- shipped_not_invoiced ---------------------------------------------------------------------
confirm_lines as (
    select l.shipment_id, l.correlation_id, l.qty_base,
           cast(replace(h.shipped_at, 'Z', '') as timestamp) as shipped_at,
           dense_rank() over (partition by l.shipment_id
                              order by h.posted_at, l.ship_confirm_no) as posting_rank
    from erp_shipment_lines as l
        join erp_shipments as h on h.ship_confirm_no = l.ship_confirm_no
),
shipped as (
    select shipment_id, correlation_id, min(shipped_at) as shipped_at,
           sum(qty_base) as shipped_base
    from confirm_lines where posting_rank = 1
    group by all
),
by_ref as (
    select distinct shipment_id, correlation_id from erp_invoice_lines
    where shipment_id is not null
),
unref as (
    select correlation_id, sum(qty_base) as invoiced_base from erp_invoice_lines
    where shipment_id is null group by all
),
fifo as (
    select s.*, coalesce(sum(s.shipped_base) over (
        partition by s.correlation_id order by s.shipped_at, s.shipment_id
        rows between unbounded preceding and 1 preceding), 0) as shipped_before
    from shipped as s
        anti join by_ref as b
            on b.shipment_id = s.shipment_id and b.correlation_id = s.correlation_id
),
sni as (
    select 'shipped_not_invoiced' as exception_type,
           f.shipment_id || ':' || f.correlation_id as exception_key,
           round((f.shipped_base - greatest(0, least(f.shipped_base,
                  coalesce(u.invoiced_base, 0) - f.shipped_before)))
                 * cast(o.unit_price / o.factor as decimal(18, 6)), 2) as amount_at_risk,
           f.shipped_at as event_at,
           48 as sla_hours
    from fifo as f
        left join unref as u on u.correlation_id = f.correlation_id
        left join (select so.correlation_id, so.unit_price,
                          coalesce(iu.factor_to_base, 1) as factor
                   from erp_sales_order_lines as so
                       left join erp_item_uoms as iu
                           on iu.item_no = so.item_no and iu.uom = upper(so.uom)) as o
            on o.correlation_id = f.correlation_id
    where greatest(0, least(f.shipped_base, coalesce(u.invoiced_base, 0) - f.shipped_before))
          < f.shipped_base
),

-- inventory_variance -------------------------------------------------------------------------
segments as (
    select filename, pos, string_split(trim(seg, E'\n\r '), '*') as el
    from (select filename, unnest(segs) as seg, unnest(range(1, len(segs) + 1)) as pos
          from (select filename, string_split(content, '~') as segs from x12_3pl))
),
numbered as (
    select *, el[1] as tag,
           sum(case when el[1] = 'ST' then 1 else 0 end)
               over (partition by filename order by pos) as st_seq,
           sum(case when el[1] in ('LIN', 'LX') then 1 else 0 end)
               over (partition by filename order by pos) as loop_seq
    from segments
),
sets as (
    select filename, st_seq, max(case when tag = 'ST' then el[2] end) as set_type,
           max(case when tag = 'BIA' then el[5] end) as report_date,
           max(case when tag = 'W06' then el[3] end) as depositor_order,
           max(case when tag = 'W06' then el[4] end) as w06_date,
           max(case when tag = 'W06' then el[5] end) as shipment_id,
           max(case when tag = 'G62' and el[2] = '11' then el[3] end) as g62_date
    from numbered group by all
),
loops as (
    select filename, st_seq, loop_seq,
           max(case when tag = 'LIN' then el[list_position(el, 'VN') + 1] end) as lin_item,
           max(case when tag = 'QTY' and el[2] = '17' then cast(el[3] as bigint) end) as qty17,
           max(case when tag = 'QTY' and el[2] = '17' then el[4] end) as qty_uom,
           max(case when tag = 'LX' then cast(el[2] as bigint) end) as lx,
           max(case when tag = 'W12' then cast(el[4] as bigint) end) as w12_qty,
           max(case when tag = 'W12' then el[6] end) as w12_uom,
           max(case when tag = 'W12' then el[9] end) as w12_item,
           max(case when tag = 'N9' and el[2] = 'LT' then el[3] end) as w12_lot
    from numbered where loop_seq > 0 group by all
),
uoms as (select item_no, upper(uom) as uom, factor_to_base from erp_item_uoms),
on_hand_846 as (
    select cast(strptime(s.report_date, '%Y%m%d') as date) as snapshot_date,
           '3PL-CENTRAL' as warehouse_code, l.lin_item as item_no,
           l.qty17 * coalesce(u.factor_to_base, 1) as on_hand_base,
           row_number() over (partition by s.report_date, l.lin_item
                              order by s.filename desc, s.st_seq desc) as rn
    from loops as l
        join sets as s on s.filename = l.filename and s.st_seq = l.st_seq
        left join uoms as u on u.item_no = l.lin_item
            and u.uom = case when upper(l.qty_uom) = 'CS' then 'CA' else upper(l.qty_uom) end
    where s.set_type = '846' and l.qty17 is not null
),
lines_945 as (
    select distinct on (s.shipment_id, l.lx)
           s.shipment_id, split_part(s.depositor_order, '-', 1) as so_no, l.w12_item as item_no,
           coalesce(l.w12_lot, '') as lot_no,
           l.w12_qty * coalesce(u.factor_to_base, 1) as qty_base,
           cast(strptime(coalesce(s.g62_date, s.w06_date), '%Y%m%d') as timestamp) as shipped_at
    from loops as l
        join sets as s on s.filename = l.filename and s.st_seq = l.st_seq
        left join uoms as u on u.item_no = l.w12_item
            and u.uom = case when upper(l.w12_uom) = 'CS' then 'CA' else upper(l.w12_uom) end
    where s.set_type = '945' and l.w12_qty is not null
    order by s.shipment_id, l.lx, s.filename, s.st_seq
),
physical_lines as (
    select h.warehouse_code, l.item_no, coalesce(l.lot_no, '') as lot_no, l.shipment_id,
           cast(replace(h.shipped_at, 'Z', '') as timestamp) as shipped_at, l.qty_base
    from wms_shipment_lines as l join wms_shipments as h on h.id = l.shipment_id
    union all
    select o.warehouse_code, t.item_no, t.lot_no, t.shipment_id, t.shipped_at, t.qty_base
    from lines_945 as t join erp_sales_orders as o on o.so_no = t.so_no
),
book as (
    select cast(snapshot_date as date) as snapshot_date, warehouse_code, item_no,
           coalesce(lot_no, '') as lot_no, on_hand_base
    from erp_inventory_balances
),
physical as (
    select cast(snapshot_date as date) as snapshot_date, warehouse_code, item_no,
           coalesce(lot_no, '') as lot_no, on_hand_base
    from wms_inventory_snapshots
    union all
    select o.snapshot_date, o.warehouse_code, o.item_no,
           coalesce(lt.lot_no, '') as lot_no, o.on_hand_base
    from on_hand_846 as o
        left join (select item_no, min(lot_no) as lot_no from book
                   where warehouse_code = '3PL-CENTRAL'
                   group by item_no having count(distinct lot_no) = 1) as lt
            on lt.item_no = o.item_no
    where o.rn = 1
),
latest as (
    select warehouse_code, max(snapshot_date) as snapshot_date,
           max(snapshot_date) + interval 1 day as cutoff_at
    from (select snapshot_date, warehouse_code from book
          union all select snapshot_date, warehouse_code from physical)
    group by all
),
first_posting as (
    select shipment_id, min(cast(replace(posted_at, 'Z', '') as timestamp)) as posted_at
    from erp_shipments group by all
),
in_transit as (
    select pl.warehouse_code, pl.item_no, pl.lot_no, sum(pl.qty_base) as in_transit_base
    from physical_lines as pl
        join latest as c on c.warehouse_code = pl.warehouse_code
        left join first_posting as f on f.shipment_id = pl.shipment_id
    where pl.shipped_at < c.cutoff_at and (f.posted_at is null or f.posted_at >= c.cutoff_at)
    group by all
),
inv as (
    select 'inventory_variance' as exception_type,
           b.warehouse_code || ':' || b.item_no || ':' || b.lot_no as exception_key,
           round(abs(b.on_hand_base - coalesce(t.in_transit_base, 0) - ph.on_hand_base)
                 * i.standard_cost, 2) as amount_at_risk,
           c.cutoff_at as event_at,
           0 as sla_hours
    from book as b
        join latest as c on c.warehouse_code = b.warehouse_code
            and c.snapshot_date = b.snapshot_date
        join physical as ph on ph.snapshot_date = b.snapshot_date
            and ph.warehouse_code = b.warehouse_code and ph.item_no = b.item_no
            and ph.lot_no = b.lot_no
        left join in_transit as t on t.warehouse_code = b.warehouse_code
            and t.item_no = b.item_no and t.lot_no = b.lot_no
        left join erp_items as i on i.item_no = b.item_no
    where abs(b.on_hand_base - coalesce(t.in_transit_base, 0) - ph.on_hand_base)
          > 0.01 * abs(ph.on_hand_base) + 0.000001
),

-- the returns family ---------------------------------------------------------------------------
receipts as (
    select rma_no, min(cast(replace(received_at, 'Z', '') as timestamp)) as received_at,
           sum(qty_base) as received_base
    from wms_return_receipts group by all
),
credits as (
    select rma_no, min(cast(replace(memo_date, 'Z', '') as timestamp)) as credited_at,
           sum(total_amount) as credited_amount
    from erp_credit_memos group by all
),
rma as (
    select r.rma_no, cast(replace(r.created_at, 'Z', '') as timestamp) as created_at,
           r.expected_credit, l.unit_price, coalesce(iu.factor_to_base, 1) as factor,
           rc.received_at, coalesce(rc.received_base, 0) as received_base,
           c.credited_at, c.credited_amount
    from erp_rmas as r
        join erp_rma_lines as l on l.rma_no = r.rma_no
        left join erp_item_uoms as iu on iu.item_no = l.item_no and iu.uom = upper(l.uom)
        left join receipts as rc on rc.rma_no = r.rma_no
        left join credits as c on c.rma_no = r.rma_no
),
returns as (
    select case
               when credited_at is not null and received_at is null
                   then 'return_credited_not_received'
               when credited_at is null and received_at is not null
                   then 'return_received_not_credited'
               when credited_at is not null then 'credit_amount_mismatch'
               else 'rma_open_past_window'
           end as exception_type,
           rma_no as exception_key,
           round(case
               when credited_at is not null and received_at is null then credited_amount
               when credited_at is not null
                   then abs(credited_amount - received_base / factor * unit_price)
               else expected_credit
           end, 2) as amount_at_risk,
           coalesce(credited_at, received_at, created_at) as event_at,
           case
               when credited_at is null and received_at is not null then 72
               when credited_at is null then 720
               else 0
           end as sla_hours,
           credited_at is null or received_at is null
               or abs(credited_amount - received_base / factor * unit_price) > 0.50 + 0.000001
               as outside_tolerance
    from rma
)

select exception_type, exception_key, amount_at_risk
from (select * from sni union all select * from inv) as x, p
where date_diff('second', x.event_at, p.as_of) / 3600.0 > x.sla_hours
   or (x.exception_type = 'inventory_variance'
       and date_diff('second', x.event_at, p.as_of) / 3600.0 >= x.sla_hours)
union all
select exception_type, exception_key, amount_at_risk
from returns, p
where outside_tolerance and date_diff('second', event_at, p.as_of) / 3600.0 > sla_hours;
