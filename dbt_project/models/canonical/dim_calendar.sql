{#- One row per day from the first order to a year after as_of. -#}
{{ dbt.date_spine(
    datepart="day",
    start_date="cast('" ~ var('calendar_start', '2024-01-01') ~ "' as date)",
    end_date="cast(" ~ dbt.dateadd('day', 366, as_of()) ~ " as date)"
) }}
