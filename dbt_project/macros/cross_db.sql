{#- The few places where DuckDB and BigQuery SQL differ, behind adapter.dispatch so every model
    is written once. `kind` is a small vocabulary: int, float, string, date, timestamp,
    string_list, int_list (the crawler's VARCHAR/BIGINT/DOUBLE/VARCHAR[]/BIGINT[] map onto it). -#}

{% macro sql_type(kind) -%}
    {{ return(adapter.dispatch('sql_type', 'animerec')(kind)) }}
{%- endmacro %}

{% macro default__sql_type(kind) -%}
    {%- set types = {
        'int': 'bigint', 'float': 'double', 'string': 'varchar', 'date': 'date',
        'timestamp': 'timestamp', 'string_list': 'varchar[]', 'int_list': 'bigint[]',
    } -%}
    {{ return(types[kind]) }}
{%- endmacro %}

{% macro bigquery__sql_type(kind) -%}
    {%- set types = {
        'int': 'int64', 'float': 'float64', 'string': 'string', 'date': 'date',
        'timestamp': 'timestamp', 'string_list': 'array<string>', 'int_list': 'array<int64>',
    } -%}
    {{ return(types[kind]) }}
{%- endmacro %}

{#- The crawler's landing column vocabulary (crawler/items.py ColumnType) as a `kind`. -#}
{% macro landing_kind(data_type) -%}
    {%- set kinds = {
        'VARCHAR': 'string', 'BIGINT': 'int', 'DOUBLE': 'float',
        'VARCHAR[]': 'string_list', 'BIGINT[]': 'int_list',
    } -%}
    {{ return(kinds[data_type | upper]) }}
{%- endmacro %}

{#- A cast that yields NULL instead of failing the whole model on one bad value. -#}
{% macro try_cast(expression, kind) -%}
    {{ adapter.dispatch('try_cast', 'animerec')(expression, kind) }}
{%- endmacro %}

{% macro default__try_cast(expression, kind) -%}
    try_cast({{ expression }} as {{ sql_type(kind) }})
{%- endmacro %}

{% macro bigquery__try_cast(expression, kind) -%}
    safe_cast({{ expression }} as {{ sql_type(kind) }})
{%- endmacro %}

{#- ISO-8601 text (offset or `Z` honoured, naive means UTC) → a UTC timestamp; garbage → NULL. -#}
{% macro parse_timestamp(expression) -%}
    {{ adapter.dispatch('parse_timestamp', 'animerec')(expression) }}
{%- endmacro %}

{% macro default__parse_timestamp(expression) -%}
    (try_cast(trim(cast({{ expression }} as varchar)) as timestamptz) at time zone 'UTC')
{%- endmacro %}

{% macro bigquery__parse_timestamp(expression) -%}
    safe_cast(trim(cast({{ expression }} as string)) as timestamp)
{%- endmacro %}

{#- ISO date text → date. A timestamp keeps its date part; a bare year-month (MAL shows
    "Apr 1998" for some anime) becomes the first of that month; anything else NULL. -#}
{% macro parse_date(expression) -%}
    {%- set text = 'trim(cast(' ~ expression ~ ' as ' ~ sql_type('string') ~ '))' -%}
    case
        when length({{ text }}) = 7 then {{ try_cast("concat(" ~ text ~ ", '-01')", 'date') }}
        else {{ try_cast('substr(' ~ text ~ ', 1, 10)', 'date') }}
    end
{%- endmacro %}

{#- A list column, never NULL (BigQuery cannot store a NULL array; DuckDB follows suit). -#}
{% macro as_list(expression, kind) -%}
    {{ adapter.dispatch('as_list', 'animerec')(expression, kind) }}
{%- endmacro %}

{% macro default__as_list(expression, kind) -%}
    coalesce(try_cast({{ expression }} as {{ sql_type(kind) }}), cast([] as {{ sql_type(kind) }}))
{%- endmacro %}

{% macro bigquery__as_list(expression, kind) -%}
    ifnull({{ expression }}, cast([] as {{ sql_type(kind) }}))
{%- endmacro %}

{#- `from t {{ unnest_join('t.items', 'item') }}`: one row per list element, named `item`. -#}
{% macro unnest_join(list_expression, element_name) -%}
    {{ adapter.dispatch('unnest_join', 'animerec')(list_expression, element_name) }}
{%- endmacro %}

{% macro default__unnest_join(list_expression, element_name) -%}
    cross join unnest({{ list_expression }}) as {{ element_name }}_list({{ element_name }})
{%- endmacro %}

{% macro bigquery__unnest_join(list_expression, element_name) -%}
    cross join unnest({{ list_expression }}) as {{ element_name }}
{%- endmacro %}

{#- A stable hash of a whole landing row: the last tie-breaker between two crawls of one key
    with the same crawl_date, so the winner never depends on load order. -#}
{% macro row_fingerprint(row_alias) -%}
    {{ adapter.dispatch('row_fingerprint', 'animerec')(row_alias) }}
{%- endmacro %}

{% macro default__row_fingerprint(row_alias) -%}
    md5(cast({{ row_alias }} as varchar))
{%- endmacro %}

{% macro bigquery__row_fingerprint(row_alias) -%}
    to_hex(md5(to_json_string({{ row_alias }})))
{%- endmacro %}
