{{ config(unique_key=['animeA', 'animeB']) }}

with typed as (
    select
        {{ try_cast('landing.animeA', 'int') }} as animeA,
        {{ try_cast('landing.animeB', 'int') }} as animeB,
        {{ clean_text('landing.relation_type') }} as relation_type,
        {{ crawl_columns('landing') }}
    from {{ landing_source('anime_relation') }} as landing
    where landing.animeA is not null and landing.animeB is not null
)

{{ latest_per_key('typed', ['animeA', 'animeB']) }}
