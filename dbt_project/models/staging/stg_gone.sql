{{ config(materialized='table') }}

-- Profiles and anime that are gone now: their newest crawl answered 404 or "private", after
-- their newest successful crawl. Processed leaves them out, with everything keyed by them.
-- Small (gone pages are rare), so rebuilt whole each run.
with successes as (
    select 'user' as parent_kind, user_key as parent_key, crawl_date from {{ ref('stg_user') }}
    union all
    select 'anime' as parent_kind, cast(anime_id as {{ sql_type('string') }}) as parent_key, crawl_date
    from {{ ref('stg_anime') }}
)

select
    gone.parent_kind,
    gone.parent_key,
    gone.parent_id,
    gone.reason,
    gone.status_code,
    gone.crawl_date as gone_date,
    gone.url,
    gone._loaded_at
from {{ ref('stg_page_gone') }} as gone
left join successes
    on successes.parent_kind = gone.parent_kind and successes.parent_key = gone.parent_key
where successes.parent_key is null
    or gone.crawl_date > successes.crawl_date
