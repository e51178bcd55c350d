{{ config(unique_key='anime_id') }}

with typed as (
    select
        {{ try_cast('landing.anime_id', 'int') }} as anime_id,
        {{ as_list('landing.pics', 'string_list') }} as pics,
        {{ crawl_columns('landing') }}
    from {{ landing_source('anime_pics') }} as landing
    where landing.anime_id is not null
        and {{ new_landing('landing') }}
)

{{ latest_per_key('typed', ['anime_id']) }}
