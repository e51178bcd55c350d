{{ config(unique_key=['user_key', 'anime_id'], post_hook="{{ delete_absent() }}") }}
{%- set columns = ['user_key', 'user_id', 'anime_id', 'score', 'status', 'progress',
                   'last_interaction_date', 'last_interaction_date_raw', 'snapshot_id',
                   'crawl_date', 'crawl_hour', 'source', 'url', '_fingerprint'] %}

with typed as (
    select
        {{ user_key('landing.user_id') }} as user_key,
        trim(cast(landing.user_id as {{ sql_type('string') }})) as user_id,
        {{ try_cast('landing.anime_id', 'int') }} as anime_id,
        {{ score_or_null('landing.score') }} as score,
        {{ normalize_list_status('landing.status') }} as status,
        {{ try_cast('landing.progress', 'int') }} as progress,
        {{ parse_timestamp('landing.last_interaction_date') }} as last_interaction_date,
        cast(landing.last_interaction_date as {{ sql_type('string') }}) as last_interaction_date_raw,
        cast(landing.snapshot_id as {{ sql_type('string') }}) as snapshot_id,
        {{ crawl_columns('landing') }}
    from {{ landing_source('user_anime') }} as landing
    where landing.user_id is not null and landing.anime_id is not null
        and {{ new_landing('landing') }}
),

{{ snapshot_set('typed', 'user_anime', 'user', 'user_key', ['user_key', 'anime_id'], columns) }}
