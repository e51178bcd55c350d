{#- Incremental processed: each published table is rebuilt only for the parents (users, anime)
    whose staging rows a run since its last build wrote. A run's pre-hooks record those parents
    in `staging.processed_touched` and delete their rows, the model inserts them again from
    staging; the post-hook records the run as the table's watermark. On DuckDB the four happen
    in one transaction; on BigQuery a crash between them leaves the watermark behind, so the
    next run redoes the same parents (the delete makes that idempotent). `dbt build
    --full-refresh` rebuilds everything and gives the same tables. The data tests of a table
    read `processed_touched` too: they check the parents its last build wrote
    (macros/data_test_scope.sql). -#}

{% macro watermark_relation() -%}
    {{- return(api.Relation.create(database=target.database, schema='staging', identifier='processed_watermark')) -}}
{%- endmacro %}

{% macro touched_relation() -%}
    {{- return(api.Relation.create(database=target.database, schema='staging', identifier='processed_touched')) -}}
{%- endmacro %}

{#- on-run-start: the watermark and touched-parents tables (and their schema) before any model
    needs them. -#}
{% macro create_processed_watermark() -%}
    {%- do adapter.create_schema(api.Relation.create(database=target.database, schema='staging')) -%}
    create table if not exists {{ watermark_relation() }} (
        model_name {{ sql_type('string') }},
        consumed_at {{ sql_type('string') }}
    )
{%- endmacro %}

{% macro create_processed_touched() -%}
    create table if not exists {{ touched_relation() }} (
        model_name {{ sql_type('string') }},
        parent_kind {{ sql_type('string') }},
        parent_key {{ sql_type('string') }}
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

{#- The parents each published table is rebuilt by (user / anime), and the columns that name
    them in the table: a row belongs to a touched parent when any of its columns names one. -#}
{% macro processed_parent_columns(model_name) -%}
    {%- set columns = {
        'anime': {'anime': ['anime_id']},
        'user': {'user': ['lower(user_id)']},
        'user_anime': {'user': ['lower(user_id)'], 'anime': ['anime_id']},
        'anime_anime': {'anime': ['animeA', 'animeB']},
        'user_user': {'user': ['lower(userA)', 'lower(userB)']},
    } -%}
    {{ return(columns[model_name]) }}
{%- endmacro %}

{#- The same rows after the rebuild, as the data tests find them. A rebuilt user's rows in user
    and user_anime all carry the username stg_user has now (`user_id` kind), which matches
    without lower-casing every row of the table. -#}
{% macro processed_rebuilt_columns(model_name) -%}
    {%- set columns = processed_parent_columns(model_name) -%}
    {%- if model_name in ('user', 'user_anime') -%}
        {%- set columns = dict(columns) -%}
        {%- do columns.pop('user') -%}
        {%- do columns.update({'user_id': ['user_id']}) -%}
    {%- endif -%}
    {{ return(columns) }}
{%- endmacro %}

{#- Per kind, the parents of the table touched since `since`: a select of one column named
    touched_key. -#}
{% macro processed_touched_sets(model_name, since) -%}
    {%- if model_name == 'anime' -%}
        {%- set sets = {'anime': touched_anime(since)} -%}
    {%- elif model_name == 'user' -%}
        {%- set sets = {'user': touched_list_users(since)} -%}
    {%- elif model_name == 'user_anime' -%}
        {%- set sets = {'user': touched_list_users(since), 'anime': touched_existence_anime(since)} -%}
    {%- elif model_name == 'anime_anime' -%}
        {%- set sets = {'anime': touched_pair_anime(since)} -%}
    {%- elif model_name == 'user_user' -%}
        {%- set sets = {'user': touched_friend_users(since)} -%}
    {%- else -%}
        {{ exceptions.raise_compiler_error("no touched parents for " ~ model_name) }}
    {%- endif -%}
    {#- each set's first select names its column: user_key for users, anime_id for anime -#}
    {%- set keyed = {} -%}
    {%- for kind, touched in sets.items() -%}
        {%- do keyed.update({kind: 'select ' ~ ('user_key' if kind == 'user' else 'anime_id')
            ~ ' as touched_key from (' ~ touched ~ ') as parents'}) -%}
    {%- endfor -%}
    {%- if model_name in ('user', 'user_anime') -%}
        {%- do keyed.update({'user_id': 'select user_id as touched_key from ' ~ ref('stg_user')
            ~ ' where user_key in (' ~ keyed['user'] ~ ')'}) -%}
    {%- endif -%}
    {{ return(keyed) }}
{%- endmacro %}

{#- pre-hooks 1 and 2: this run's touched parents replace the table's previous ones, under a
    marker row that says which kind of build recorded them (`incremental`, or `all` for a full
    build, which records no keys). Computed once here, read by the delete and by the data tests
    (macros/data_test_scope.sql). -#}
{% macro forget_touched_parents() -%}
    delete from {{ touched_relation() }} where model_name = '{{ this.identifier }}'
{%- endmacro %}

{% macro record_touched_parents() -%}
    {#- rendered on every build, so parsing sees the staging models the sets read -#}
    {%- set sets = processed_touched_sets(this.identifier, processed_since()) -%}
    {%- set incremental = is_incremental() -%}
    insert into {{ touched_relation() }} (model_name, parent_kind, parent_key)
    select '{{ this.identifier }}', '{{ 'incremental' if incremental else 'all' }}', cast(null as {{ sql_type('string') }})
    {%- if incremental %}
    {%- for kind, touched in sets.items() %}
    union all
    select distinct '{{ this.identifier }}', '{{ kind }}', cast(touched_key as {{ sql_type('string') }})
    from ({{ touched }}) as touched
    where touched_key is not null
    {%- endfor %}
    {%- endif %}
{%- endmacro %}

{#- The rows of `model_name` that belong to the parents recorded for it (a SQL condition):
    `columns` maps a kind to the table's columns naming it (processed_parent_columns before the
    rebuild, processed_rebuilt_columns after it). -#}
{% macro touched_rows_condition(model_name, columns) -%}
    {%- set conditions = [] -%}
    {%- for kind, kind_columns in columns.items() -%}
        {%- set keys -%}
            select {{ try_cast('parent_key', 'int') if kind == 'anime' else 'parent_key' }}
            from {{ touched_relation() }}
            where model_name = '{{ model_name }}' and parent_kind = '{{ kind }}'
        {%- endset -%}
        {%- for column in kind_columns -%}
            {%- do conditions.append(column ~ ' in (' ~ keys ~ ')') -%}
        {%- endfor -%}
    {%- endfor -%}
    ({{ conditions | join(' or ') if conditions else 'false' }})
{%- endmacro %}

{#- pre-hook 3: delete the rows of the recorded parents (nothing on a full build). -#}
{% macro delete_touched_parents() -%}
    {{ return(adapter.dispatch('delete_touched_parents', 'animerec')()) }}
{%- endmacro %}

{% macro default__delete_touched_parents() -%}
    {%- if is_incremental() -%}
    delete from {{ this }}
    where {{ touched_rows_condition(this.identifier, processed_parent_columns(this.identifier)) }}
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
