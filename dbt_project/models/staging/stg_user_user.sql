{{ config(unique_key=['userA_key', 'userB_key']) }}

with typed as (
    select
        {{ user_key('landing.userA') }} as userA_key,
        {{ user_key('landing.userB') }} as userB_key,
        trim(cast(landing.userA as {{ sql_type('string') }})) as userA,
        trim(cast(landing.userB as {{ sql_type('string') }})) as userB,
        {{ parse_timestamp('landing.friendship_date') }} as friendship_date,
        cast(landing.friendship_date as {{ sql_type('string') }}) as friendship_date_raw,
        {{ crawl_columns('landing') }}
    from {{ landing_source('user_user') }} as landing
    where landing.userA is not null and landing.userB is not null
)

{{ latest_per_key('typed', ['userA_key', 'userB_key']) }}
