{#- Online metrics of each model version: what visitors did with the picks it made. -#}
with events as (
    select
        *,
        {{ feedback_card_key() }} as card_key
    from {{ ref('stg_feedback') }}
),

counts as (
    select model_version, {{ feedback_counts() }}
    from events
    group by model_version
)

select *, {{ feedback_rates() }}
from counts
