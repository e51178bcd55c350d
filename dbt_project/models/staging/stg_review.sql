{{ config(unique_key='review_id') }}

with typed as (
    select
        {{ try_cast('landing.review_id', 'int') }} as review_id,
        {{ try_cast('landing.anime_id', 'int') }} as anime_id,
        trim(cast(landing.user_id as {{ sql_type('string') }})) as user_id,
        {{ user_key('landing.user_id') }} as user_key,
        {{ parse_timestamp('landing.review_date') }} as review_date,
        {{ try_cast('landing.review_num_useful', 'int') }} as review_num_useful,
        {%- for column in ['review_score', 'review_story_score', 'review_animation_score',
                           'review_sound_score', 'review_character_score',
                           'review_enjoyment_score'] %}
        {{ score_or_null('landing.' ~ column) }} as {{ column }},
        {%- endfor %}
        {{ as_list('landing.review_tags', 'string_list') }} as review_tags,
        cast(landing.review_date as {{ sql_type('string') }}) as review_date_raw,
        {{ crawl_columns('landing') }}
    from {{ landing_source('review') }} as landing
    where landing.review_id is not null
        and {{ new_landing('landing') }}
)

{{ latest_per_key('typed', ['review_id']) }}
