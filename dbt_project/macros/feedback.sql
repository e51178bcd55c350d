{#- Visitors' feedback events (animerec_assets/contracts/feedback.py): how long they are kept,
    and the statements that drop older ones. -#}

{#- Days events are kept: ANIMEREC_FEEDBACK_RETENTION_DAYS, else the project var (which a test
    keeps equal to the contract's DEFAULT_RETENTION_DAYS). -#}
{% macro feedback_retention_days() -%}
    {%- set days = env_var('ANIMEREC_FEEDBACK_RETENTION_DAYS', '') or var('feedback_retention_days') -%}
    {%- if not modules.re.fullmatch('[0-9]{1,5}', days | string) or (days | int) < 1 -%}
        {{ exceptions.raise_compiler_error("ANIMEREC_FEEDBACK_RETENTION_DAYS must be a whole number of days >= 1, got " ~ days) }}
    {%- endif -%}
    {{ return(days | int) }}
{%- endmacro %}

{#- The oldest event time kept, as a UTC timestamp (events before it are dropped). -#}
{% macro feedback_cutoff() -%}
    {{ adapter.dispatch('feedback_cutoff', 'animerec')(feedback_retention_days()) }}
{%- endmacro %}

{% macro default__feedback_cutoff(days) -%}
    ((current_timestamp at time zone 'UTC') - interval '{{ days }} days')
{%- endmacro %}

{% macro bigquery__feedback_cutoff(days) -%}
    timestamp_sub(current_timestamp(), interval {{ days }} day)
{%- endmacro %}

{#- pre-hook of stg_feedback: events past the retention leave staging (the feedback tables are
    rebuilt from staging, so they leave those too). -#}
{% macro drop_expired_feedback() -%}
    {%- if is_incremental() -%}
    delete from {{ this }} where event_time < {{ feedback_cutoff() }}
    {%- endif -%}
{%- endmacro %}

{#- One card: a session seeing (or acting on) one anime; NULL for events about no card. -#}
{% macro feedback_card_key() -%}
    case when anime_id is not null
        then concat(session_id, ':', cast(anime_id as {{ sql_type('string') }})) end
{%- endmacro %}


{#- Card-level counts of a feedback grouping: each (session, anime) counts once per action, so a
    visitor clicking "Looks good" twice is one like. `cards` are the cards a session saw or
    acted on (an action on a card means it was shown). -#}
{% macro feedback_counts() -%}
    count(distinct session_id) as sessions,
    count(distinct card_key) as cards,
    count(distinct case when action = 'like' then card_key end) as likes,
    count(distinct case when action = 'dislike' then card_key end) as dislikes,
    count(distinct case when action = 'hide' then card_key end) as hides,
    count(distinct case when action = 'click_mal' then card_key end) as mal_clicks,
    count(distinct case when action in ('dislike', 'hide') then card_key end) as turned_down,
    sum(case when action = 'more' then 1 else 0 end) as more_requests,
    min(event_time) as first_event_time,
    max(event_time) as last_event_time
{%- endmacro %}

{#- The rates over those counts (NULL where nothing was shown). -#}
{% macro feedback_rates() -%}
    likes / nullif(cast(cards as {{ sql_type('float') }}), 0) as like_rate,
    dislikes / nullif(cast(cards as {{ sql_type('float') }}), 0) as not_for_me_rate,
    hides / nullif(cast(cards as {{ sql_type('float') }}), 0) as hide_rate,
    mal_clicks / nullif(cast(cards as {{ sql_type('float') }}), 0) as mal_click_rate,
    cards / nullif(cast(sessions as {{ sql_type('float') }}), 0) as picks_per_session
{%- endmacro %}
