{{ config(unique_key='user_key') }}

with typed as (
    select
        {{ user_key('landing.user_id') }} as user_key,
        trim(cast(landing.user_id as {{ sql_type('string') }})) as user_id,
        coalesce(
            {{ clean_text('landing.user_url') }},
            concat('https://myanimelist.net/profile/', trim(cast(landing.user_id as {{ sql_type('string') }})))
        ) as user_url,
        {{ parse_timestamp('landing.last_online_date') }} as last_online_date,
        {{ parse_timestamp('landing.join_date') }} as join_date,
        {%- for column in ['num_watching', 'num_completed', 'num_on_hold', 'num_dropped',
                           'num_plan_to_watch'] %}
        {{ try_cast('landing.' ~ column, 'int') }} as {{ column }},
        {%- endfor %}
        {{ try_cast('landing.num_days', 'float') }} as num_days,
        {{ score_or_null('landing.mean_score', 'float') }} as mean_score,
        {{ as_list('landing.clubs', 'string_list') }} as clubs,
        {{ as_list('landing.favorite_anime_ids', 'int_list') }} as favorite_anime_ids,
        cast(landing.last_online_date as {{ sql_type('string') }}) as last_online_date_raw,
        cast(landing.join_date as {{ sql_type('string') }}) as join_date_raw,
        {{ crawl_columns('landing') }}
    from {{ landing_source('user') }} as landing
    where landing.user_id is not null and trim(cast(landing.user_id as {{ sql_type('string') }})) <> ''
        and {{ new_landing('landing') }}
)

{{ latest_per_key('typed', ['user_key']) }}
