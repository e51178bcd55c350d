{#- Per anime and reason type, across model versions and visitors: how often the card was
    turned down ("Not for me" or "Not interested"). The online metrics asset reports the anime
    with a high rate; nothing here changes a model. -#}
with events as (
    select
        *,
        {{ feedback_card_key() }} as card_key
    from {{ ref('stg_feedback') }}
    where anime_id is not null
),

counts as (
    select anime_id, reason_type, {{ feedback_counts() }}
    from events
    group by anime_id, reason_type
)

select
    *,
    {{ feedback_rates() }},
    turned_down / nullif(cast(cards as {{ sql_type('float') }}), 0) as turned_down_rate
from counts
