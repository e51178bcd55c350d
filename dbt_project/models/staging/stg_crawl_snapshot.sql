{{ config(unique_key=['parent_kind', 'parent_key', 'set_name']) }}

-- The newest complete snapshot of each (parent, set): what the set models keep rows against.
-- Partial snapshots delete nothing, so they are not kept here.
with typed as (
    select
        lower(trim(cast(landing.parent_kind as {{ sql_type('string') }}))) as parent_kind,
        {{ parent_key('landing.parent_kind', 'landing.parent_id') }} as parent_key,
        trim(cast(landing.parent_id as {{ sql_type('string') }})) as parent_id,
        trim(cast(landing.set_name as {{ sql_type('string') }})) as set_name,
        cast(landing.snapshot_id as {{ sql_type('string') }}) as snapshot_id,
        {{ try_cast('landing.item_count', 'int') }} as item_count,
        {{ crawl_columns('landing') }}
    from {{ landing_source('crawl_snapshot') }} as landing
    where landing.complete = 1 and landing.snapshot_id is not null
        and {{ parent_key('landing.parent_kind', 'landing.parent_id') }} is not null
        and {{ new_landing('landing') }}
)

{{ latest_per_key('typed', ['parent_kind', 'parent_key', 'set_name']) }}
