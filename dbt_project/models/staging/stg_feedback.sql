{#- Visitors' feedback events: typed, one row per event_id (a stream entry landed twice is one
    event), events past the retention dropped. Incremental: only events not staged yet are
    read, whatever hour they landed in. -#}
{{ config(unique_key='event_id', pre_hook="{{ drop_expired_feedback() }}") }}

with typed as (
    select
        trim(cast(landing.event_id as {{ sql_type('string') }})) as event_id,
        {{ parse_timestamp('landing.event_time') }} as event_time,
        cast(landing.event_hour as {{ sql_type('string') }}) as event_hour,
        trim(cast(landing.session_id as {{ sql_type('string') }})) as session_id,
        nullif(trim(cast(landing.username as {{ sql_type('string') }})), '') as username,
        trim(cast(landing.model_version as {{ sql_type('string') }})) as model_version,
        {{ try_cast('landing.anime_id', 'int') }} as anime_id,
        {{ try_cast('landing.position', 'int') }} as position,
        coalesce(nullif(lower(trim(cast(landing.reason_type as {{ sql_type('string') }}))), ''), 'none')
            as reason_type,
        {{ try_cast('landing.reason_anime_id', 'int') }} as reason_anime_id,
        lower(trim(cast(landing.action as {{ sql_type('string') }}))) as action,
        lower(trim(cast(landing.origin as {{ sql_type('string') }}))) as origin
    from {{ landing_source('feedback') }} as landing
    where landing.event_id is not null
        and landing.session_id is not null
        and landing.model_version is not null
        and {{ parse_timestamp('landing.event_time') }} >= {{ feedback_cutoff() }}
)

select typed.*, {{ loaded_at() }} as _loaded_at
from typed
{%- if is_incremental() %}
where not exists (select 1 from {{ this }} as staged where staged.event_id = typed.event_id)
{%- else %}
where true
{%- endif %}
qualify row_number() over (partition by typed.event_id order by typed.event_hour desc) = 1
