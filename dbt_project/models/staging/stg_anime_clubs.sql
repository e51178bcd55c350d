{{ config(unique_key='anime_id') }}

with typed as (
    select
        {{ try_cast('landing.anime_id', 'int') }} as anime_id,
        {{ as_list('landing.clubs', 'string_list') }} as clubs,
        {{ crawl_columns('landing') }}
    from {{ landing_source('anime_clubs') }} as landing
    where landing.anime_id is not null
        and {{ new_landing('landing') }}
)

{{ latest_per_key('typed', ['anime_id']) }}
