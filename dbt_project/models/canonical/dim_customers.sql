{#- Customers with their channel and EDI identity. -#}
select
    c.customer_no,
    c.name as customer_name,
    c.channel,
    c.payment_terms,
    c.edi_partner_code,
    c.edi_isa_qualifier,
    c.edi_isa_id,
    c.credit_limit,
    (select count(*) from {{ ref('stg_erp__customer_ship_tos') }} as s where s.customer_no = c.customer_no) as ship_to_count
from {{ ref('stg_erp__customers') }} as c
