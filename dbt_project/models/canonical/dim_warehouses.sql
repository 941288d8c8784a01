select warehouse_code, name as warehouse_name, operator, system, city, state
from {{ ref('stg_erp__warehouses') }}
