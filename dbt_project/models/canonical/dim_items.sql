{#- Items with their unit-of-measure conversions (factor to the base unit, EA). -#}
with uoms as (
    select
        item_no,
        max(case when uom = 'EA' then factor_to_base end) as ea_factor,
        max(case when uom = 'CA' then factor_to_base end) as case_factor,
        max(case when uom = 'PL' then factor_to_base end) as pallet_factor
    from {{ ref('stg_erp__item_uoms') }}
    group by item_no
)

select
    i.item_no,
    i.upc,
    i.description,
    i.base_uom,
    coalesce(u.ea_factor, 1) as ea_factor,
    coalesce(u.case_factor, i.case_qty) as case_factor,
    coalesce(u.pallet_factor, i.pallet_qty) as pallet_factor,
    i.weight_lb,
    i.standard_cost,
    i.list_price,
    i.lot_controlled,
    i.abc_class
from {{ ref('stg_erp__items') }} as i
    left join uoms as u on u.item_no = i.item_no
