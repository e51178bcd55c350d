{{ config(unique_key=['userA_key', 'userB_key'], post_hook="{{ delete_absent() }}") }}
{%- set columns = ['userA_key', 'userB_key', 'userA', 'userB', 'friendship_date',
                   'friendship_date_raw', 'snapshot_id',
                   'crawl_date', 'crawl_hour', 'source', 'url', '_fingerprint'] %}

-- Friends as each profile lists them (userA's page lists userB); processed settles a pair both
-- profiles list differently by the newer of the two crawls.
with typed as (
    select
        {{ user_key('landing.userA') }} as userA_key,
        {{ user_key('landing.userB') }} as userB_key,
        trim(cast(landing.userA as {{ sql_type('string') }})) as userA,
        trim(cast(landing.userB as {{ sql_type('string') }})) as userB,
        {{ parse_timestamp('landing.friendship_date') }} as friendship_date,
        cast(landing.friendship_date as {{ sql_type('string') }}) as friendship_date_raw,
        cast(landing.snapshot_id as {{ sql_type('string') }}) as snapshot_id,
        {{ crawl_columns('landing') }}
    from {{ landing_source('user_user') }} as landing
    where landing.userA is not null and landing.userB is not null
        and {{ new_landing('landing') }}
),

{{ snapshot_set('typed', 'user_user', 'user', 'userA_key', ['userA_key', 'userB_key'], columns) }}
