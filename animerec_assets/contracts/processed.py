"""The processed contract: the five published tables, their columns in order, and what each means.

dbt builds these tables, the replica exports its ground truth in them, the export publishes
them with a dataset card, and docs/data_contracts.md lists them; all read this module.
"""

from __future__ import annotations

PROCESSED_TABLES: tuple[str, ...] = ("anime", "user", "user_anime", "anime_anime", "user_user")
_SCORE_COUNTS = {
    f"score_{score:02d}_count": f"Number of users who scored the anime {score}."
    for score in range(10, 0, -1)
}

COLUMN_DESCRIPTIONS: dict[str, dict[str, str]] = {
    "anime": {
        "anime_id": "MyAnimeList's numeric id of the anime.",
        "anime_url": "Canonical MyAnimeList page of the anime (https://myanimelist.net/anime/<id>).",
        "title": "Title of the anime as MyAnimeList shows it.",
        "synopsis": "Short description of the plot.",
        "main_pic": "URL of the cover picture.",
        "type": "Format of the anime, e.g. TV, Movie, OVA, ONA, Special, Music.",
        "source_type": "What the anime was adapted from, e.g. Manga, Light novel, Original.",
        "num_episodes": "Number of episodes (empty while unknown).",
        "status": "Airing status: Finished Airing, Currently Airing or Not yet aired.",
        "start_date": "Date the anime started airing.",
        "end_date": "Date the anime finished airing (empty while airing or for single dates).",
        "season": "Season the anime started airing, e.g. 'Winter 2020' for a January 2020 start.",
        "studios": "List of studios that produced the anime.",
        "genres": "List of genres and themes, e.g. Action, Shounen.",
        "score": "Average score (1-10) MyAnimeList users gave the anime.",
        "score_count": "Number of users who scored the anime.",
        "score_rank": "Rank of the anime by score on MyAnimeList (1 = best).",
        "popularity_rank": "Rank of the anime by number of members (1 = most popular).",
        "members_count": "Number of users who have the anime on their list.",
        "favorites_count": "Number of users who have the anime among their favorites.",
        "watching_count": "Number of users currently watching the anime.",
        "completed_count": "Number of users who completed the anime.",
        "on_hold_count": "Number of users who put the anime on hold.",
        "dropped_count": "Number of users who dropped the anime.",
        "plan_to_watch_count": "Number of users who plan to watch the anime.",
        "total_count": "Users who are watching, completed, on hold, dropped or plan to watch it.",
        **_SCORE_COUNTS,
        "clubs": "List of MyAnimeList clubs the anime is part of.",
        "pics": "List of URLs of pictures of the anime.",
        "rating": (
            "MyAnimeList's age rating: G - All Ages, PG - Children, PG-13 - Teens 13 or older, "
            "R - 17+ (violence & profanity), R+ - Mild Nudity or Rx - Hentai (empty if unrated)."
        ),
    },
    "user": {
        "user_id": (
            "MyAnimeList username (matching across tables is case-insensitive), or its pseudonym "
            "in a pseudonymised export (see Privacy)."
        ),
        "user_url": (
            "Canonical profile page (https://myanimelist.net/profile/<username>); empty in a "
            "pseudonymised export."
        ),
        "last_online_date": "When the user was last online on MyAnimeList (UTC).",
        "num_watching": "Number of anime the user is watching.",
        "num_completed": "Number of anime the user completed.",
        "num_on_hold": "Number of anime the user has on hold.",
        "num_dropped": "Number of anime the user dropped.",
        "num_plan_to_watch": "Number of anime the user plans to watch.",
        "num_days": "Days the user has spent watching anime, as the profile states.",
        "mean_score": "Mean score the user gave to the anime they scored.",
        "clubs": "List of MyAnimeList clubs the user is a member of.",
    },
    "user_anime": {
        "user_id": "Username of the user (see user.user_id).",
        "anime_id": "Id of the anime (see anime.anime_id).",
        "favorite": "1 if the anime is one of the user's favorites, else 0.",
        "review_id": "Id of the user's review of the anime, if they wrote one.",
        "review_date": "When the review was written.",
        "review_num_useful": "Number of users who found the review useful (reactions since 2022).",
        "review_score": "Overall score given in the review.",
        "review_story_score": "Story score given in the review (when the source shows one).",
        "review_animation_score": "Animation score given in the review (when shown).",
        "review_sound_score": "Sound score given in the review (when shown).",
        "review_character_score": "Character score given in the review (when shown).",
        "review_enjoyment_score": "Enjoyment score given in the review (when shown).",
        "score": "Score (1-10) the user gave the anime on their list; empty if not scored.",
        "status": "List status: watching, completed, on_hold, dropped or plan_to_watch.",
        "progress": "Number of episodes the user has watched.",
        "last_interaction_date": "Last time the user updated this anime on their list (UTC).",
    },
    "anime_anime": {
        "animeA": "Id of the first anime of the pair.",
        "animeB": "Id of the second anime of the pair.",
        "recommendation": "1 if users recommend animeB to those who liked animeA, else 0.",
        "recommendation_url": "Page of that recommendation, when there is one.",
        "num_recommenders": "Number of users who recommend animeB for animeA.",
        "related": "1 if animeB is related to animeA (sequel, prequel, side story...), else 0.",
        "relation_type": "Kind of relation between related anime, e.g. Sequel, Prequel.",
    },
    "user_user": {
        "userA": "Username (or pseudonym) of the first user.",
        "userB": "Username (or pseudonym) of the second user.",
        "friends": "1 if the two users are friends (every published pair is).",
        "friendship_date": "When the two users became friends (UTC).",
    },
}

# Each processed table's columns, in contract order.
PROCESSED_COLUMNS: dict[str, tuple[str, ...]] = {
    table: tuple(columns) for table, columns in COLUMN_DESCRIPTIONS.items()
}
