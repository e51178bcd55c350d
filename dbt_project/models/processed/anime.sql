{{ config(
    pre_hook="{{ delete_parents('anime_id in (' ~ touched_anime(processed_since()) ~ ')') }}",
    on_schema_change='append_new_columns',
) }}

-- One row per crawled anime that is still there: its page, its stats page, its pictures and
-- its clubs. Columns added later come last (an existing table gains them at its end).
select
    anime.anime_id,
    anime.anime_url,
    anime.title,
    anime.synopsis,
    anime.main_pic,
    anime.type,
    anime.source_type,
    anime.num_episodes,
    anime.status,
    anime.start_date,
    anime.end_date,
    anime.season,
    anime.studios,
    anime.genres,
    anime.score,
    anime.score_count,
    anime.score_rank,
    anime.popularity_rank,
    anime.members_count,
    -- the MAL API has no favorites count: its crawl reads it from the stats page's sidebar
    coalesce(anime.favorites_count, stats.favorites_count) as favorites_count,
    stats.watching_count,
    stats.completed_count,
    stats.on_hold_count,
    stats.dropped_count,
    stats.plan_to_watch_count,
    stats.total_count,
    {%- for score in range(10, 0, -1) %}
    stats.score_{{ '%02d' % score }}_count,
    {%- endfor %}
    coalesce(clubs.clubs, cast([] as {{ sql_type('string_list') }})) as clubs,
    coalesce(pics.pics, cast([] as {{ sql_type('string_list') }})) as pics,
    anime.rating
from {{ ref('stg_anime') }} as anime
left join ({{ gone_anime() }}) as gone on gone.anime_id = anime.anime_id
left join {{ ref('stg_anime_stats') }} as stats on stats.anime_id = anime.anime_id
left join {{ ref('stg_anime_clubs') }} as clubs on clubs.anime_id = anime.anime_id
left join {{ ref('stg_anime_pics') }} as pics on pics.anime_id = anime.anime_id
where gone.anime_id is null
{%- if is_incremental() %}
    and anime.anime_id in ({{ touched_anime(processed_since()) }})
{%- endif %}
