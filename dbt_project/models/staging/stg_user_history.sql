{{ config(unique_key=['user_key', 'anime_id', 'episode', 'history_date']) }}

with typed as (
    select
        {{ user_key('landing.user_id') }} as user_key,
        trim(cast(landing.user_id as {{ sql_type('string') }})) as user_id,
        {{ try_cast('landing.anime_id', 'int') }} as anime_id,
        coalesce({{ try_cast('landing.episode', 'int') }}, 0) as episode,
        {{ parse_timestamp('landing.history_date') }} as history_date,
        cast(landing.history_date as {{ sql_type('string') }}) as history_date_raw,
        {{ crawl_columns('landing') }}
    from {{ landing_source('user_history') }} as landing
    where landing.user_id is not null and landing.anime_id is not null
        and {{ new_landing('landing') }}
        and {{ parse_timestamp('landing.history_date') }} is not null
)

{{ latest_per_key('typed', ['user_key', 'anime_id', 'episode', 'history_date']) }}
