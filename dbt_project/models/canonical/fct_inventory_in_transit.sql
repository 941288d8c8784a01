{#- Per inventory cutoff (end of each snapshot day) x warehouse x item x lot: quantity that left
    the building physically (WMS or 3PL 945) before the cutoff but was not yet posted as a ERP
    ship confirm by then. The ERP book still holds it; it explains book > physical. -#}
with physical_lines as (
    select warehouse_code, item_no, coalesce(lot_no, '') as lot_no, shipment_id, shipped_at, qty_base
    from {{ ref('fct_shipment_lines') }}
    where source_system in ('wms', '945')
),

first_posting as (
    select shipment_id, min(posted_at) as posted_at
    from {{ ref('fct_shipment_lines') }}
    where source_system = 'erp'
    group by shipment_id
),

cutoffs as (
    select distinct snapshot_date, {{ dbt.dateadd('day', 1, 'cast(snapshot_date as ' ~ dbt.type_timestamp() ~ ')') }} as cutoff_at
    from {{ ref('stg_erp__inventory_balances') }}
)

select
    c.snapshot_date,
    p.warehouse_code,
    p.item_no,
    p.lot_no,
    sum(p.qty_base) as in_transit_base,
    count(distinct p.shipment_id) as shipments_in_transit,
    min(p.shipped_at) as oldest_shipped_at
from physical_lines as p
    left join first_posting as f on f.shipment_id = p.shipment_id
    -- Both bounds as plain inequalities (never posted = posted at the end of time): a range join
    -- of two conditions, not one inequality (1M lines x every later cutoff) filtered afterwards.
    inner join cutoffs as c
        on p.shipped_at < c.cutoff_at
        and c.cutoff_at <= coalesce(f.posted_at, cast('9999-12-31' as {{ dbt.type_timestamp() }}))
group by c.snapshot_date, p.warehouse_code, p.item_no, p.lot_no
