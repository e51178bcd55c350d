{{ config(unique_key=['animeA', 'animeB']) }}

with typed as (
    select
        {{ try_cast('landing.animeA', 'int') }} as animeA,
        {{ try_cast('landing.animeB', 'int') }} as animeB,
        {{ clean_text('landing.recommendation_url') }} as recommendation_url,
        {{ try_cast('landing.num_recommenders', 'int') }} as num_recommenders,
        {{ crawl_columns('landing') }}
    from {{ landing_source('anime_recommendation') }} as landing
    where landing.animeA is not null and landing.animeB is not null
)

{{ latest_per_key('typed', ['animeA', 'animeB']) }}
