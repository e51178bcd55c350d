-- Friendships are mutual on MAL: each is published in both directions, with the earliest
-- friendship date either side showed. Each profile's friends list is its own view of the pair;
-- when the two views disagree the newer one wins: a side's view dates from its newest complete
-- friends snapshot, or from the crawl that listed the pair if that is newer (a partial crawl).
-- A side never crawled, or crawled without snapshot markers and not listing the pair, has no
-- say. Pairs with a gone profile are left out. An incremental run rebuilds the pairs of the
-- users that moved.
{%- set incremental = is_incremental() %}
{%- set epoch = "cast('1970-01-01' as " ~ sql_type('timestamp') ~ ")" %}

with
{%- if incremental %}
touched as (
    {{ touched_friend_users(processed_since()) }}
),
{%- endif %}

listed as (
    select userA_key, userB_key, userA, userB, friendship_date, crawl_date
    from {{ ref('stg_user_user') }}
    where userA_key <> userB_key
    {%- if incremental %}
        and (
            userA_key in (select user_key from touched)
            or userB_key in (select user_key from touched)
        )
    {%- endif %}
),

friend_snapshots as (
    select parent_key as user_key, crawl_date as snapshot_date
    from {{ ref('stg_crawl_snapshot') }}
    where parent_kind = 'user' and set_name = 'user_user'
),

pairs as (
    select distinct
        case when userA_key < userB_key then userA_key else userB_key end as low_key,
        case when userA_key < userB_key then userB_key else userA_key end as high_key
    from listed
),

views as (
    select
        pairs.low_key,
        pairs.high_key,
        from_low.userA_key is not null as low_lists,
        from_high.userA_key is not null as high_lists,
        -- when each side last looked: the later of its complete snapshot and its listing crawl
        nullif(greatest(
            coalesce(low_snapshot.snapshot_date, {{ epoch }}),
            coalesce(from_low.crawl_date, {{ epoch }})
        ), {{ epoch }}) as low_seen,
        nullif(greatest(
            coalesce(high_snapshot.snapshot_date, {{ epoch }}),
            coalesce(from_high.crawl_date, {{ epoch }})
        ), {{ epoch }}) as high_seen,
        -- a profile's own page spells its name best; the other side's list otherwise
        coalesce(from_low.userA, from_high.userB) as low_name,
        coalesce(from_high.userA, from_low.userB) as high_name,
        case
            when from_low.friendship_date is null then from_high.friendship_date
            when from_high.friendship_date is null then from_low.friendship_date
            when from_low.friendship_date < from_high.friendship_date then from_low.friendship_date
            else from_high.friendship_date
        end as friendship_date
    from pairs
    left join listed as from_low
        on from_low.userA_key = pairs.low_key and from_low.userB_key = pairs.high_key
    left join listed as from_high
        on from_high.userA_key = pairs.high_key and from_high.userB_key = pairs.low_key
    left join friend_snapshots as low_snapshot on low_snapshot.user_key = pairs.low_key
    left join friend_snapshots as high_snapshot on high_snapshot.user_key = pairs.high_key
),

friends as (
    select
        low_key,
        high_key,
        low_name,
        high_name,
        friendship_date
    from views
    where case
        when high_seen is null then low_lists
        when low_seen is null then high_lists
        when low_seen > high_seen then low_lists
        when high_seen > low_seen then high_lists
        else low_lists or high_lists
    end
),

directed as (
    select low_key as userA_key, high_key as userB_key, low_name as userA, high_name as userB,
        friendship_date
    from friends
    union all
    select high_key, low_key, high_name, low_name, friendship_date from friends
),

users as (
    select user_key, user_id from {{ ref('stg_user') }}
),

gone as (
    {{ gone_users() }}
)

select
    coalesce(user_a.user_id, directed.userA) as userA,
    coalesce(user_b.user_id, directed.userB) as userB,
    1 as friends,
    directed.friendship_date
from directed
left join users as user_a on user_a.user_key = directed.userA_key
left join users as user_b on user_b.user_key = directed.userB_key
left join gone as gone_a on gone_a.user_key = directed.userA_key
left join gone as gone_b on gone_b.user_key = directed.userB_key
where gone_a.user_key is null and gone_b.user_key is null
-- a user's rows stored together: the hourly scans by user read compact dictionaries
order by userA, userB
