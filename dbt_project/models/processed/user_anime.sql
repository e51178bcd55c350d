-- One row per (user, anime) the user has on their list, marked as a favorite, or reviewed,
-- for crawled users and crawled anime that are still there (the published tables are
-- referentially whole; staging keeps the rest until its other side is crawled). An
-- incremental run rebuilds the users whose staging rows moved and the anime that appeared or
-- went away.
{%- set incremental = is_incremental() %}

with
{%- if incremental %}
touched_users as (
    {{ touched_list_users(processed_since()) }}
),

touched_anime as (
    {{ touched_existence_anime(processed_since()) }}
),
{%- endif %}

users as (
    select users.user_key, users.user_id, users.favorite_anime_ids
    from {{ ref('stg_user') }} as users
    left join ({{ gone_users() }}) as gone on gone.user_key = users.user_key
    where gone.user_key is null
),

anime as (
    select anime.anime_id
    from {{ ref('stg_anime') }} as anime
    left join ({{ gone_anime() }}) as gone on gone.anime_id = anime.anime_id
    where gone.anime_id is null
),

list_entries as (
    select user_key, anime_id, score, status, progress, last_interaction_date
    from {{ ref('stg_user_anime') }}
    {%- if incremental %}
    where user_key in (select user_key from touched_users)
        or anime_id in (select anime_id from touched_anime)
    {%- endif %}
),

favorites as (
    select distinct users.user_key, favorite_anime_id as anime_id
    from users
    {{ unnest_join('users.favorite_anime_ids', 'favorite_anime_id') }}
    {%- if incremental %}
    where users.user_key in (select user_key from touched_users)
        or favorite_anime_id in (select anime_id from touched_anime)
    {%- endif %}
),

-- MAL allows one review per user and anime; should two appear, the newest one counts
reviews as (
    select
        user_key, anime_id, review_id, review_date, review_num_useful, review_score,
        review_story_score, review_animation_score, review_sound_score,
        review_character_score, review_enjoyment_score
    from {{ ref('stg_review') }}
    where anime_id is not null
    {%- if incremental %}
        and (
            user_key in (select user_key from touched_users)
            or anime_id in (select anime_id from touched_anime)
        )
    {%- endif %}
    qualify row_number() over (
        partition by user_key, anime_id
        order by review_date desc nulls last, review_id desc
    ) = 1
),

pairs as (
    select user_key, anime_id from list_entries
    union distinct
    select user_key, anime_id from favorites
    union distinct
    select user_key, anime_id from reviews
)

select
    users.user_id,
    pairs.anime_id,
    case when favorites.anime_id is null then 0 else 1 end as favorite,
    reviews.review_id,
    reviews.review_date,
    reviews.review_num_useful,
    reviews.review_score,
    reviews.review_story_score,
    reviews.review_animation_score,
    reviews.review_sound_score,
    reviews.review_character_score,
    reviews.review_enjoyment_score,
    list_entries.score,
    list_entries.status,
    list_entries.progress,
    list_entries.last_interaction_date
from pairs
inner join users on users.user_key = pairs.user_key
inner join anime on anime.anime_id = pairs.anime_id
left join list_entries
    on list_entries.user_key = pairs.user_key and list_entries.anime_id = pairs.anime_id
left join favorites
    on favorites.user_key = pairs.user_key and favorites.anime_id = pairs.anime_id
left join reviews
    on reviews.user_key = pairs.user_key and reviews.anime_id = pairs.anime_id
-- a user's rows stored together: the hourly scans by user read compact dictionaries
order by users.user_id, pairs.anime_id
