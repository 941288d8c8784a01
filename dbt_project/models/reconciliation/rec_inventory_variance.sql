{#- ERP book vs physical per snapshot x warehouse x item x lot, base units:
    variance = book - in transit - physical. Goods shipped but not yet posted are shown as
    in_transit_base (an explanation, not a variance). History of every snapshot is kept; the
    exception is raised on the latest snapshot only. Tolerance is a % of physical (rules seed). -#}
with candidates as (
    select
        inventory_key as exception_key,
        cast(null as {{ dbt.type_string() }}) as correlation_id,
        {{ json_object([('warehouse_code', 'warehouse_code'), ('item_no', 'item_no'), ('lot_no', "nullif(lot_no, '')"),
                        ('snapshot_date', 'snapshot_date')]) }} as documents,
        book_on_hand_base - in_transit_base - physical_on_hand_base as difference,
        abs(book_on_hand_base - in_transit_base - physical_on_hand_base) * standard_cost as amount_at_risk,
        {{ dbt.dateadd('day', 1, 'cast(snapshot_date as ' ~ dbt.type_timestamp() ~ ')') }} as event_at,
        snapshot_date,
        warehouse_code,
        item_no,
        lot_no,
        book_on_hand_base,
        in_transit_base,
        physical_on_hand_base,
        physical_source,
        is_latest_snapshot
    from {{ ref('fct_inventory_snapshots') }}
    where book_on_hand_base is not null and physical_on_hand_base is not null
)

select
    {{ rec_columns() }},
    is_latest_snapshot
        and {{ outside_tolerance('difference', 'physical_on_hand_base') }}
        and {{ hours_between('event_at', as_of()) }} >= r.sla_hours as is_exception,
    snapshot_date,
    warehouse_code,
    item_no,
    lot_no,
    book_on_hand_base,
    in_transit_base,
    physical_on_hand_base,
    physical_source,
    is_latest_snapshot
from candidates
    cross join {{ rule('inventory_variance') }} as r
