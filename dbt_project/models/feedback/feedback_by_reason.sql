{#- Online metrics per model version and the kind of reason the card showed ("because you
    liked X", "popular", ...): which reasons convince visitors. -#}
with events as (
    select
        *,
        {{ feedback_card_key() }} as card_key
    from {{ ref('stg_feedback') }}
    where anime_id is not null
),

counts as (
    select model_version, reason_type, {{ feedback_counts() }}
    from events
    group by model_version, reason_type
)

select *, {{ feedback_rates() }}
from counts
