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
    staging are considered, so a late-arriving older crawl never overwrites a newer one. -#}
{% macro latest_per_key(candidates, key_columns) -%}
    {%- set epoch = "cast('1970-01-01' as " ~ sql_type('timestamp') ~ ")" -%}
    select candidate.*
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

{#- Keys (lower-cased usernames) of the users who opted out (`animerec optout add`; copied into
    landing.optout before dbt runs, empty when it has never been copied). Processed drops every
    row of theirs. -#}
{% macro opted_out_user_keys() -%}
    (select optout.user_key from {{ landing_source('optout', 'privacy') }} as optout
     where optout.user_key is not null)
{%- endmacro %}
