-- One row per crawled profile; user_id is the username as the latest crawl of the profile
-- displayed it (matching elsewhere is case-insensitive). Users who opted out are left out.
select
    user_id,
    user_url,
    last_online_date,
    num_watching,
    num_completed,
    num_on_hold,
    num_dropped,
    num_plan_to_watch,
    num_days,
    mean_score,
    clubs
from {{ ref('stg_user') }}
where user_key not in {{ opted_out_user_keys() }}
