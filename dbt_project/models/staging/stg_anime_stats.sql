{{ config(unique_key='anime_id') }}

with typed as (
    select
        {{ try_cast('landing.anime_id', 'int') }} as anime_id,
        {%- for column in ['watching_count', 'completed_count', 'on_hold_count', 'dropped_count',
                           'plan_to_watch_count', 'total_count'] %}
        {{ try_cast('landing.' ~ column, 'int') }} as {{ column }},
        {%- endfor %}
        {%- for score in range(10, 0, -1) %}
        {%- set column = 'score_%02d_count' % score %}
        {{ try_cast('landing.' ~ column, 'int') }} as {{ column }},
        {%- endfor %}
        {{ try_cast('landing.favorites_count', 'int') }} as favorites_count,
        {{ crawl_columns('landing') }}
    from {{ landing_source('anime_stats') }} as landing
    where landing.anime_id is not null
        and {{ new_landing('landing') }}
)

{{ latest_per_key('typed', ['anime_id']) }}
