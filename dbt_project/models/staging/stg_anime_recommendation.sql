{{ config(unique_key=['animeA', 'animeB'], post_hook="{{ delete_absent() }}") }}
{%- set columns = ['animeA', 'animeB', 'recommendation_url', 'num_recommenders', 'snapshot_id',
                   'crawl_date', 'crawl_hour', 'source', 'url', '_fingerprint'] %}

with typed as (
    select
        {{ try_cast('landing.animeA', 'int') }} as animeA,
        {{ try_cast('landing.animeB', 'int') }} as animeB,
        {{ clean_text('landing.recommendation_url') }} as recommendation_url,
        {{ try_cast('landing.num_recommenders', 'int') }} as num_recommenders,
        cast(landing.snapshot_id as {{ sql_type('string') }}) as snapshot_id,
        {{ crawl_columns('landing') }}
    from {{ landing_source('anime_recommendation') }} as landing
    where landing.animeA is not null and landing.animeB is not null
        and {{ new_landing('landing') }}
),

{{ snapshot_set('typed', 'anime_recommendation', 'anime', 'animeA', ['animeA', 'animeB'], columns) }}
