-- Friendships are mutual on MAL: each is published in both directions, whichever profile it was
-- crawled from, with the earliest friendship date either side showed.
with directed as (
    select userA_key, userB_key, userA, userB, friendship_date from {{ ref('stg_user_user') }}
    union all
    select userB_key, userA_key, userB, userA, friendship_date from {{ ref('stg_user_user') }}
),

merged as (
    select
        userA_key,
        userB_key,
        min(userA) as userA,
        min(userB) as userB,
        min(friendship_date) as friendship_date
    from directed
    where userA_key <> userB_key
        -- a friendship of a user who opted out is not published from either side
        and coalesce(userA_key, '') not in {{ opted_out_user_keys() }}
        and coalesce(userB_key, '') not in {{ opted_out_user_keys() }}
    group by userA_key, userB_key
),

users as (
    select user_key, user_id from {{ ref('stg_user') }}
)

select
    coalesce(user_a.user_id, merged.userA) as userA,
    coalesce(user_b.user_id, merged.userB) as userB,
    1 as friends,
    merged.friendship_date
from merged
left join users as user_a on user_a.user_key = merged.userA_key
left join users as user_b on user_b.user_key = merged.userB_key
