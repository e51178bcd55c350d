"""Small processed tables with the exact columns and types dbt builds (for the export tests)."""

from __future__ import annotations

from pathlib import Path

import duckdb

SCORE_COUNTS = ", ".join(
    f"{n}::BIGINT as score_{s:02d}_count"
    for s, n in zip(range(10, 0, -1), range(1, 11), strict=True)
)

PROCESSED_SQL = {
    "anime": """
        select * from (values
            (1, 'Cowboy Bebop', 'Bounty hunters, in space.', 'TV', 26, 'Finished Airing',
             date '1998-04-03', date '1999-04-24', 'Spring 1998', ['Sunrise'], ['Action', 'Sci-Fi'],
             8.75, ['Bebop fans'], ['https://cdn.myanimelist.net/images/anime/4/19644.jpg']),
            (5, 'Cowboy Bebop: The Movie', 'A movie, with a comma, and "quotes".', 'Movie', 1,
             'Finished Airing', date '2001-09-01', null, 'Summer 2001', ['Bones'], ['Action'],
             8.38, [], []),
            (9, 'Upcoming', null, 'TV', null, 'Not yet aired', null, null, null, [], [], null,
             [], [])
        ) as t(anime_id, title, synopsis, type, num_episodes, status, start_date, end_date,
               season, studios, genres, score, clubs, pics)
    """,
    "user": """
        select * from (values
            ('Alice', timestamp '2024-05-01 10:00:00', 3.5, 8.1, ['Bebop fans']),
            ('bob', timestamp '2024-06-02 11:30:00', 0.5, null, [])
        ) as t(user_id, last_online_date, num_days, mean_score, clubs)
    """,
    "user_anime": """
        select * from (values
            ('Alice', 1, 1, 77, timestamp '2020-01-01 00:00:00', 12, 9, 'completed', 26,
             timestamp '2020-01-02 08:00:00'),
            ('Alice', 5, 0, null, null, null, null, 'plan_to_watch', 0, null),
            ('bob', 1, 0, null, null, null, 7, 'watching', 3, timestamp '2024-06-01 09:15:00')
        ) as t(user_id, anime_id, favorite, review_id, review_date, review_num_useful,
               score, status, progress, last_interaction_date)
    """,
    "anime_anime": """
        select * from (values
            (1, 5, 1, 'https://myanimelist.net/recommendations/anime/1-5', 12, 1, 'Side Story'),
            (5, 1, 0, null, null, 1, 'Parent Story')
        ) as t(animeA, animeB, recommendation, recommendation_url, num_recommenders, related,
               relation_type)
    """,
    "user_user": """
        select * from (values
            ('Alice', 'bob', 1, timestamp '2019-01-01 00:00:00'),
            ('bob', 'Alice', 1, timestamp '2019-01-01 00:00:00')
        ) as t(userA, userB, friends, friendship_date)
    """,
}

# The final select of each table: contract column order and dbt's types.
PROCESSED_SELECT = {
    "anime": f"""
        select anime_id::BIGINT as anime_id,
            'https://myanimelist.net/anime/' || anime_id as anime_url, title, synopsis,
            'https://cdn.myanimelist.net/images/anime/1/' || anime_id || '.jpg' as main_pic,
            type, 'Original' as source_type, num_episodes::BIGINT as num_episodes, status,
            start_date, end_date, season, studios::VARCHAR[] as studios,
            genres::VARCHAR[] as genres, score::DOUBLE as score, 100::BIGINT as score_count,
            anime_id::BIGINT as score_rank, anime_id::BIGINT as popularity_rank,
            1000::BIGINT as members_count, 10::BIGINT as favorites_count,
            1::BIGINT as watching_count, 2::BIGINT as completed_count,
            3::BIGINT as on_hold_count, 4::BIGINT as dropped_count,
            5::BIGINT as plan_to_watch_count, 15::BIGINT as total_count, {SCORE_COUNTS},
            clubs::VARCHAR[] as clubs, pics::VARCHAR[] as pics,
            'PG-13 - Teens 13 or older' as rating
        from rows
    """,
    "user": """
        select user_id, 'https://myanimelist.net/profile/' || user_id as user_url,
            last_online_date, 1::BIGINT as num_watching, 2::BIGINT as num_completed,
            0::BIGINT as num_on_hold, 0::BIGINT as num_dropped, 1::BIGINT as num_plan_to_watch,
            num_days::DOUBLE as num_days, mean_score::DOUBLE as mean_score,
            clubs::VARCHAR[] as clubs
        from rows
    """,
    "user_anime": """
        select user_id, anime_id::BIGINT as anime_id, favorite::INTEGER as favorite,
            review_id::BIGINT as review_id, review_date,
            review_num_useful::BIGINT as review_num_useful,
            (case when review_id is null then null else score end)::BIGINT as review_score,
            null::BIGINT as review_story_score, null::BIGINT as review_animation_score,
            null::BIGINT as review_sound_score, null::BIGINT as review_character_score,
            null::BIGINT as review_enjoyment_score, score::BIGINT as score, status,
            progress::BIGINT as progress, last_interaction_date
        from rows
    """,
    "anime_anime": """
        select animeA::BIGINT as animeA, animeB::BIGINT as animeB,
            recommendation::INTEGER as recommendation, recommendation_url,
            num_recommenders::BIGINT as num_recommenders, related::INTEGER as related,
            relation_type
        from rows
    """,
    "user_user": """
        select userA, userB, friends::INTEGER as friends, friendship_date from rows
    """,
}


def create_processed(database: Path, tables: tuple[str, ...] | None = None) -> None:
    """The processed schema (all five tables, or ``tables``) in a DuckDB file."""
    with duckdb.connect(str(database)) as connection:
        connection.execute("create schema if not exists processed")
        for table in tables or tuple(PROCESSED_SQL):
            connection.execute(
                f'create or replace table processed."{table}" as '
                f"with rows as ({PROCESSED_SQL[table]}) {PROCESSED_SELECT[table]}"
            )


def create_staging_crawls(database: Path) -> None:
    """The two staging tables whose crawl dates give the card's crawl period."""
    with duckdb.connect(str(database)) as connection:
        connection.execute("create schema if not exists staging")
        connection.execute(
            "create or replace table staging.stg_anime as select * from (values "
            "(1, timestamp '2024-06-03 01:00:00'), (5, timestamp '2024-06-04 02:00:00')) "
            "as t(anime_id, crawl_date)"
        )
        connection.execute(
            "create or replace table staging.stg_user as select * from (values "
            "('alice', timestamp '2024-06-02 12:00:00')) as t(user_key, crawl_date)"
        )


def read_processed(database: Path, table: str):
    with duckdb.connect(str(database), read_only=True) as connection:
        return connection.execute(f'select * from processed."{table}"').df()
