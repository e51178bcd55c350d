{#- Incremental processed: each published table is rebuilt only for the parents (users, anime)
    whose staging rows a run since its last build wrote. A run's pre-hook deletes those parents'
    rows, the model inserts them again from staging; the post-hook records the run as the
    table's watermark. On DuckDB the three happen in one transaction; on BigQuery a crash
    between them leaves the watermark behind, so the next run redoes the same parents (the
    delete makes that idempotent). `dbt build --full-refresh` rebuilds everything and gives the
    same tables. -#}

{% macro watermark_relation() -%}
    {{- return(api.Relation.create(database=target.database, schema='staging', identifier='processed_watermark')) -}}
{%- endmacro %}

{#- on-run-start: the watermark table (and its schema) before any model needs it. -#}
{% macro create_processed_watermark() -%}
    {%- do adapter.create_schema(api.Relation.create(database=target.database, schema='staging')) -%}
    create table if not exists {{ watermark_relation() }} (
        model_name {{ sql_type('string') }},
        consumed_at {{ sql_type('string') }}
    )
{%- endmacro %}

{#- The staging runs this table has consumed, as a SQL timestamp (epoch when never built). -#}
{% macro processed_since() -%}
    coalesce(
        (
            select cast(max(consumed_at) as {{ sql_type('timestamp') }})
            from {{ watermark_relation() }}
            where model_name = '{{ this.identifier }}'
        ),
        cast('1970-01-01' as {{ sql_type('timestamp') }})
    )
{%- endmacro %}

{#- post-hooks: this run is consumed; older marks of the table go. -#}
{% macro record_processed_watermark() -%}
    insert into {{ watermark_relation() }} (model_name, consumed_at)
    values ('{{ this.identifier }}', '{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}')
{%- endmacro %}

{% macro prune_processed_watermark() -%}
    delete from {{ watermark_relation() }}
    where model_name = '{{ this.identifier }}'
        and consumed_at < '{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}'
{%- endmacro %}

{#- pre-hook: delete the rows of the parents this run rebuilds (`condition` names them). -#}
{% macro delete_parents(condition) -%}
    {{ return(adapter.dispatch('delete_parents', 'animerec')(condition)) }}
{%- endmacro %}

{% macro default__delete_parents(condition) -%}
    {%- if is_incremental() -%}
    delete from {{ this }} where {{ condition }}
    {%- endif -%}
{%- endmacro %}

{#- Sets of parents touched since `since` (a SQL timestamp), each a select of one column. -#}

{#- Users whose profile or gone state changed, or who opted out: every user-keyed set
    rebuilds them. -#}
{% macro touched_user_state(since) -%}
    select user_key from {{ ref('stg_user') }} where _loaded_at > {{ since }}
    union distinct
    select parent_key from {{ ref('stg_page_gone') }}
    where parent_kind = 'user' and _loaded_at > {{ since }}
    union distinct
    {{ opted_out_users() }}
{%- endmacro %}

{#- Users whose list (or its snapshot) or reviews changed, besides their own state. -#}
{% macro touched_list_users(since) -%}
    {{ touched_user_state(since) }}
    union distinct
    select user_key from {{ ref('stg_user_anime') }} where _loaded_at > {{ since }}
    union distinct
    select user_key from {{ ref('stg_review') }} where _loaded_at > {{ since }}
    union distinct
    select parent_key from {{ ref('stg_crawl_snapshot') }}
    where parent_kind = 'user' and set_name = 'user_anime' and _loaded_at > {{ since }}
{%- endmacro %}

{#- Users whose friends (or their snapshot) changed, besides their own state. -#}
{% macro touched_friend_users(since) -%}
    {{ touched_user_state(since) }}
    union distinct
    select userA_key from {{ ref('stg_user_user') }} where _loaded_at > {{ since }}
    union distinct
    select parent_key from {{ ref('stg_crawl_snapshot') }}
    where parent_kind = 'user' and set_name = 'user_user' and _loaded_at > {{ since }}
{%- endmacro %}

{#- Anime that may have appeared or disappeared: first staged, gone, or crawled again after a
    "gone" answer. Users' list rows pointing at them are rebuilt; a re-crawl of an anime that
    was there all along leaves them alone. -#}
{% macro touched_existence_anime(since) -%}
    select anime_id from {{ ref('stg_anime') }} where _first_loaded_at > {{ since }}
    union distinct
    select {{ try_cast('parent_key', 'int') }} from {{ ref('stg_page_gone') }}
    where parent_kind = 'anime' and _loaded_at > {{ since }}
    union distinct
    select anime.anime_id
    from {{ ref('stg_anime') }} as anime
    inner join {{ ref('stg_page_gone') }} as gone
        on gone.parent_kind = 'anime' and gone.parent_key = cast(anime.anime_id as {{ sql_type('string') }})
    where anime._loaded_at > {{ since }}
{%- endmacro %}

{#- Anime whose page, stats, pictures, clubs or gone state changed. -#}
{% macro touched_anime(since) -%}
    select anime_id from {{ ref('stg_anime') }} where _loaded_at > {{ since }}
    union distinct
    select anime_id from {{ ref('stg_anime_stats') }} where _loaded_at > {{ since }}
    union distinct
    select anime_id from {{ ref('stg_anime_pics') }} where _loaded_at > {{ since }}
    union distinct
    select anime_id from {{ ref('stg_anime_clubs') }} where _loaded_at > {{ since }}
    union distinct
    select {{ try_cast('parent_key', 'int') }} from {{ ref('stg_page_gone') }}
    where parent_kind = 'anime' and _loaded_at > {{ since }}
{%- endmacro %}

{#- Anime whose pairs may have changed: their related/recommended sets, their page (a pair needs
    both anime crawled), or their gone state. -#}
{% macro touched_pair_anime(since) -%}
    select anime_id from {{ ref('stg_anime') }} where _loaded_at > {{ since }}
    union distinct
    select animeA from {{ ref('stg_anime_relation') }} where _loaded_at > {{ since }}
    union distinct
    select animeA from {{ ref('stg_anime_recommendation') }} where _loaded_at > {{ since }}
    union distinct
    select {{ try_cast('parent_key', 'int') }} from {{ ref('stg_crawl_snapshot') }}
    where parent_kind = 'anime' and _loaded_at > {{ since }}
    union distinct
    select {{ try_cast('parent_key', 'int') }} from {{ ref('stg_page_gone') }}
    where parent_kind = 'anime' and _loaded_at > {{ since }}
{%- endmacro %}

{#- Gone parents, for the exclusions every processed table makes. -#}
{#- Gone profiles, and users who opted out (landing.optout): processed leaves both out. -#}
{% macro gone_users() -%}
    select parent_key as user_key from {{ ref('stg_gone') }} where parent_kind = 'user'
    union distinct
    {{ opted_out_users() }}
{%- endmacro %}

{#- Every opted-out user counts as touched on every incremental run (the list is small), so
    rows published before the opt-out are deleted by the next run. -#}
{% macro opted_out_users() -%}
    select optout.user_key from {{ landing_source('optout', 'privacy') }} as optout
    where optout.user_key is not null
{%- endmacro %}

{% macro gone_anime() -%}
    select {{ try_cast('parent_key', 'int') }} as anime_id from {{ ref('stg_gone') }}
    where parent_kind = 'anime'
{%- endmacro %}
