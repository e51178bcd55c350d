{#- Re-crawls (docs/data_contracts.md "Re-crawls"): staging reads only the landing partitions it
    has not seen, replaces a parent's sets by its newest complete snapshot, and stamps every row
    it writes with the run that wrote it, so processed can rebuild just the parents that moved. -#}

{#- The run that writes a staging row: processed compares it with its own watermark. -#}
{% macro loaded_at() -%}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as {{ sql_type('timestamp') }})
{%- endmacro %}

{#- Landing rows this model has not read yet: partitions (crawl_hour) newer than the newest one
    already staged. Re-reading a partition is harmless (the newest crawl per key wins again), so a
    partition whose rows were all replaced is simply read once more. A partition that lands late,
    older than the watermark, needs `--full-refresh` or `--vars '{landing_since: "<hour>"}'`. -#}
{% macro new_landing(row_alias) -%}
    {%- set since = var('landing_since', none) -%}
    {%- if since is not none -%}
        {%- if not modules.re.fullmatch('[0-9:T -]{1,32}', since | string) -%}
            {{ exceptions.raise_compiler_error("landing_since must be a crawl_hour, got " ~ since) }}
        {%- endif -%}
        {{ row_alias }}.crawl_hour > '{{ since }}'
    {%- elif is_incremental() -%}
        {{ row_alias }}.crawl_hour > coalesce((select max(watermark.crawl_hour) from {{ this }} as watermark), '')
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}

{#- A parent's key as text, the same for the set rows and its crawl_snapshot/page_gone rows:
    usernames match case-insensitively, anime ids as canonical integers. -#}
{% macro parent_key(kind_expression, id_expression) -%}
    case lower(trim(cast({{ kind_expression }} as {{ sql_type('string') }})))
        when 'user' then {{ user_key(id_expression) }}
        when 'anime' then cast({{ try_cast('trim(cast(' ~ id_expression ~ ' as ' ~ sql_type('string') ~ '))', 'int') }} as {{ sql_type('string') }})
    end
{%- endmacro %}

{#- A set a parent page lists (SNAPSHOT_SETS): one row per key, the newest crawl of the key, kept
    only while the parent's newest complete snapshot contains it (or a later, partial crawl saw
    it again). With no complete snapshot for the parent (older landing, sources without
    markers) the newest crawl per key stands, as before re-crawls were modelled.

    Incremental: `typed` holds only new landing rows. Every parent they touch (a row, or a new
    complete snapshot of the set, possibly empty) is judged again from its staged keys plus the
    new rows. Emitted: new rows that are now the newest crawl of their key, and staged keys the
    snapshot dropped, with _present = false (merged like any other row, then removed by the
    model's post-hook `delete_absent`); a staged row that stays is not rewritten. A full build
    emits present rows only.

    `columns` are the columns of `typed`, listed so staged rows line up with them. -#}
{% macro snapshot_set(typed, set_name, parent_kind, parent_column, key_columns, columns) -%}
    {%- set parent = set_parent(parent_kind, parent_column) -%}
    {%- set column_list = columns | join(', ') -%}
snapshots as (
    select parent_key, snapshot_id, crawl_date as snapshot_date
    from {{ ref('stg_crawl_snapshot') }}
    where parent_kind = '{{ parent_kind }}' and set_name = '{{ set_name }}'
),

{%- if is_incremental() %}

touched_parents as (
    select {{ parent }} as parent_key from {{ typed }}
    union distinct
    select {{ parent_key('marker.parent_kind', 'marker.parent_id') }} as parent_key
    from {{ landing_source('crawl_snapshot') }} as marker
    where {{ new_landing('marker') }}
        and marker.complete = 1
        and lower(trim(marker.parent_kind)) = '{{ parent_kind }}'
        and trim(marker.set_name) = '{{ set_name }}'
),
{%- endif %}

candidates as (
    select {{ column_list }}, false as _staged from {{ typed }}
    {%- if is_incremental() %}
    union all
    {# of the staged rows only what judges them: a staged row that stays the newest and
       present is left where it is, so its other columns are never read #}
    select
        {%- for column in columns %}
        {{ column if column in key_columns + ['snapshot_id', 'crawl_date', '_fingerprint'] else 'null' }} as {{ column }},
        {%- endfor %}
        true as _staged
    from {{ this }}
    where {{ parent }} in (select parent_key from touched_parents where parent_key is not null)
    {%- endif %}
),

newest as (
    select *
    from candidates
    where true
    qualify row_number() over (
        partition by {{ key_columns | join(', ') }}
        order by crawl_date desc nulls last, _fingerprint desc
    ) = 1
),

judged as (
    select
        newest.*,
        coalesce(
            snapshots.parent_key is null
            or newest.snapshot_id = snapshots.snapshot_id
            or newest.crawl_date > snapshots.snapshot_date,
            false
        ) as _present,
        {{ loaded_at() }} as _loaded_at
    from newest
    left join snapshots on snapshots.parent_key = {{ set_parent(parent_kind, 'newest.' ~ parent_column) }}
)

select {{ column_list }}, _present, _loaded_at from judged
{%- if is_incremental() %}
where not (_staged and _present)
{%- else %}
where _present
{%- endif %}
{# rows of a parent stored together: scans by parent key read compact dictionaries #}
order by {{ key_columns | join(', ') }}
{%- endmacro %}

{#- The parent column of a set row as the text key crawl_snapshot rows use. -#}
{% macro set_parent(parent_kind, column) -%}
    {{- column if parent_kind == 'user' else 'cast(' ~ column ~ ' as ' ~ sql_type('string') ~ ')' -}}
{%- endmacro %}

{#- post-hook of the snapshot sets: drop the keys a complete snapshot no longer lists. -#}
{% macro delete_absent() -%}
    {%- if is_incremental() -%}
    delete from {{ this }} where not _present
    {%- endif -%}
{%- endmacro %}
