{#- No two rows share these key columns (dbt_utils has one, but packages need the internet).
    `latest_load_only`: check only the keys the newest run wrote (`_loaded_at`, staging), against
    every row of the table. On the first build that is the whole table; on an hourly run it is
    the 1 % that moved, so the test stops scanning-and-grouping tens of millions of rows that
    earlier runs already checked and no later run touched. -#}
{% test unique_combination(model, columns, latest_load_only=false) %}
    {%- set keys = columns | join(', ') %}
    {%- if latest_load_only %}
    with latest_keys as (
        select distinct {{ keys }}
        from {{ model }}
        where _loaded_at = (select max(_loaded_at) from {{ model }})
    )
    select {% for column in columns %}keyed.{{ column }}{{ ', ' if not loop.last }}{% endfor %},
        count(*) as duplicates
    from {{ model }} as keyed
    {#- a semi join (not an inner join, which DuckDB answers by grouping the whole table first) #}
    where exists (
        select 1 from latest_keys
        where {% for column in columns -%}
            latest_keys.{{ column }} = keyed.{{ column }}{{ ' and ' if not loop.last }}
        {%- endfor %}
    )
    group by {% for column in columns %}keyed.{{ column }}{{ ', ' if not loop.last }}{% endfor %}
    having count(*) > 1
    {%- else %}
    select {{ keys }}, count(*) as duplicates
    from {{ model }}
    group by {{ keys }}
    having count(*) > 1
    {%- endif %}
{% endtest %}
