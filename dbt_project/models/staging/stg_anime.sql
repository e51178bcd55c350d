{{ config(unique_key='anime_id') }}

with typed as (
    select
        {{ try_cast('landing.anime_id', 'int') }} as anime_id,
        coalesce(
            {{ clean_text('landing.anime_url') }},
            concat('https://myanimelist.net/anime/', cast({{ try_cast('landing.anime_id', 'int') }} as {{ sql_type('string') }}))
        ) as anime_url,
        {{ clean_text('landing.title') }} as title,
        {{ clean_text('landing.synopsis') }} as synopsis,
        {{ clean_text('landing.main_pic') }} as main_pic,
        {{ clean_text('landing.type') }} as type,
        {{ clean_text('landing.source_type') }} as source_type,
        {{ try_cast('landing.num_episodes', 'int') }} as num_episodes,
        {{ normalize_anime_status('landing.status') }} as status,
        {{ parse_date('landing.start_date') }} as start_date,
        {{ parse_date('landing.end_date') }} as end_date,
        {{ season_of(parse_date('landing.start_date')) }} as season,
        {{ clean_text('landing.premiered') }} as premiered,
        {{ as_list('landing.studios', 'string_list') }} as studios,
        {{ as_list('landing.genres', 'string_list') }} as genres,
        {{ score_or_null('landing.score', 'float') }} as score,
        {{ try_cast('landing.score_count', 'int') }} as score_count,
        {{ try_cast('landing.score_rank', 'int') }} as score_rank,
        {{ try_cast('landing.popularity_rank', 'int') }} as popularity_rank,
        {{ try_cast('landing.members_count', 'int') }} as members_count,
        {{ try_cast('landing.favorites_count', 'int') }} as favorites_count,
        {{ normalize_age_rating('landing.rating') }} as rating,
        -- the text as crawled, so the quality gate can name dates that did not parse
        cast(landing.start_date as {{ sql_type('string') }}) as start_date_raw,
        cast(landing.end_date as {{ sql_type('string') }}) as end_date_raw,
        {{ crawl_columns('landing') }}
    from {{ landing_source('anime') }} as landing
    where landing.anime_id is not null
        and {{ new_landing('landing') }}
)

{{ latest_per_key('typed', ['anime_id'], first_loaded=true) }}
