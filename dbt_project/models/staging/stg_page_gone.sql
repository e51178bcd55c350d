{{ config(unique_key=['parent_kind', 'parent_key']) }}

-- The newest "gone" answer (404, private profile) of each parent; stg_gone decides whether a
-- later successful crawl found the page again.
with typed as (
    select
        lower(trim(cast(landing.parent_kind as {{ sql_type('string') }}))) as parent_kind,
        {{ parent_key('landing.parent_kind', 'landing.parent_id') }} as parent_key,
        trim(cast(landing.parent_id as {{ sql_type('string') }})) as parent_id,
        lower(trim(cast(landing.reason as {{ sql_type('string') }}))) as reason,
        {{ try_cast('landing.status_code', 'int') }} as status_code,
        {{ crawl_columns('landing') }}
    from {{ landing_source('page_gone') }} as landing
    where {{ parent_key('landing.parent_kind', 'landing.parent_id') }} is not null
        and {{ new_landing('landing') }}
)

{{ latest_per_key('typed', ['parent_kind', 'parent_key']) }}
