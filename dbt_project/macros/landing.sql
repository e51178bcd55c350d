{#- Reading landing and reducing it to the latest crawl per key: the shape every staging model
    shares. -#}

{#- The landing table, or an empty relation with its contract columns (from _sources.yml) when
    the crawler has not written that table yet, so a fresh warehouse still builds. -#}
{% macro landing_source(table_name, source_name='landing') -%}
    {%- set relation = source(source_name, table_name) -%}
    {#- in a unit test `source()` is the fixture (no schema): nothing to look up -#}
    {%- if execute and relation.schema is not none and load_relation(relation) is none -%}
        {{ empty_landing(table_name, source_name) }}
    {%- else -%}
        {{ relation }}
    {%- endif -%}
{%- endmacro %}

{% macro empty_landing(table_name, source_name='landing') -%}
    {%- set node = graph.sources['source.animerec.' ~ source_name ~ '.' ~ table_name] -%}
    (
        select
        {%- for name, column in node.columns.items() %}
            cast(null as {{ sql_type(landing_kind(column.data_type)) }}) as {{ name }}
            {{- ',' if not loop.last }}
        {%- endfor %}
        from (select 1 as one) as nothing
        where 1 = 0
    )
{%- endmacro %}

{#- The crawl bookkeeping every staging row carries: when and where it was crawled, and the
    fingerprint that breaks crawl_date ties deterministically. -#}
{% macro crawl_columns(row_alias) -%}
    {{ parse_timestamp(row_alias ~ '.crawl_date') }} as crawl_date,
    cast({{ row_alias }}.crawl_hour as {{ sql_type('string') }}) as crawl_hour,
    cast({{ row_alias }}.source as {{ sql_type('string') }}) as source,
    cast({{ row_alias }}.url as {{ sql_type('string') }}) as url,
    {{ row_fingerprint(row_alias) }} as _fingerprint
{%- endmacro %}

{#- One row per key: the newest crawl wins (then the larger fingerprint), whatever order the
    crawls landed in. On an incremental run only candidates that beat the row already in
    staging are considered, so a late-arriving older crawl never overwrites a newer one.
    `_loaded_at` is the run that wrote the row; `first_loaded` adds `_first_loaded_at`, the run
    that first staged the key (processed uses it to find anime that just appeared). -#}
{% macro latest_per_key(candidates, key_columns, first_loaded=false) -%}
    {%- set epoch = "cast('1970-01-01' as " ~ sql_type('timestamp') ~ ")" -%}
    select
        candidate.*,
        {%- if first_loaded %}
        {%- if is_incremental() %}
        coalesce(current_row._first_loaded_at, {{ loaded_at() }}) as _first_loaded_at,
        {%- else %}
        {{ loaded_at() }} as _first_loaded_at,
        {%- endif %}
        {%- endif %}
        {{ loaded_at() }} as _loaded_at
    from {{ candidates }} as candidate
    {%- if is_incremental() %}
    left join {{ this }} as current_row
        on {% for key in key_columns -%}
            candidate.{{ key }} = current_row.{{ key }}{{ ' and ' if not loop.last }}
        {%- endfor %}
    where current_row.{{ key_columns[0] }} is null
        or coalesce(candidate.crawl_date, {{ epoch }}) > coalesce(current_row.crawl_date, {{ epoch }})
        or (
            coalesce(candidate.crawl_date, {{ epoch }}) = coalesce(current_row.crawl_date, {{ epoch }})
            and candidate._fingerprint > current_row._fingerprint
        )
    {%- else %}
    where true
    {%- endif %}
    qualify row_number() over (
        partition by {% for key in key_columns %}candidate.{{ key }}{{ ', ' if not loop.last }}{% endfor %}
        order by candidate.crawl_date desc nulls last, candidate._fingerprint desc
    ) = 1
{%- endmacro %}
