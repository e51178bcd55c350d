-- One row per crawled profile that is still there; user_id is the username as the latest crawl
-- of the profile displayed it (matching elsewhere is case-insensitive).
select
    users.user_id,
    users.user_url,
    users.last_online_date,
    users.num_watching,
    users.num_completed,
    users.num_on_hold,
    users.num_dropped,
    users.num_plan_to_watch,
    users.num_days,
    users.mean_score,
    users.clubs
from {{ ref('stg_user') }} as users
left join ({{ gone_users() }}) as gone on gone.user_key = users.user_key
where gone.user_key is null
{%- if is_incremental() %}
    and users.user_key in ({{ touched_list_users(processed_since()) }})
{%- endif %}
