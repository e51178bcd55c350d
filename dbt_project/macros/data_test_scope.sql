{#- What a data test reads: on a full build every row, on an incremental run what that run wrote.

    dbt wraps a tested relation in `get_where_subquery`; this override gives the `where` config
    two markers (set per folder in dbt_project.yml):

    - `__touched_parents__` (processed): the rows of the parents the table's last build rebuilt,
      as its pre-hook recorded them in staging.processed_touched. Every key a row can share with
      another (user, anime, pair) contains its parent, so unique/unique_combination still see
      every row that could collide with a rebuilt one; row-level tests (not_null, in_range,
      accepted_values, relationships from the child) see exactly the rows that changed. After a
      full build (or before any build recorded its parents) the whole table is tested.
    - `__latest_load__` (staging): the rows the newest run wrote (`_loaded_at`); a full build
      writes every row in one run, so it tests them all. Use it for row-level tests only: a
      uniqueness test of staging keeps `unique_combination(latest_load_only=true)`, which joins
      the newest keys against the whole table.

    Any other `where` is used as written (dbt's own behaviour). -#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- if where == '__touched_parents__' -%}
        {%- set where = touched_parents_where(relation) -%}
    {%- elif where == '__latest_load__' -%}
        {%- set where = '_loaded_at = (select max(_loaded_at) from ' ~ relation ~ ')' -%}
    {%- endif -%}
    {%- if where -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ where ~ ') dbt_subquery') -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}

{#- The condition selecting the touched parents' rows of a processed table, or '' (all rows)
    unless its last build was an incremental one. Kinds the build recorded no parent of are left
    out of the condition (usually no anime appeared or went): one join less over the table. -#}
{% macro touched_parents_where(relation) -%}
    {#- only a run that executes tests asks the warehouse (`dbt compile` shows the whole-table
        form, and compiles offline) -#}
    {%- if not execute or flags.WHICH not in ('build', 'test', 'retry') -%}
        {{ return('') }}
    {%- endif -%}
    {%- set recorded -%}
        select parent_kind, count(*) from {{ touched_relation() }}
        where model_name = '{{ relation.identifier }}'
        group by parent_kind
    {%- endset -%}
    {%- set counts = {} -%}
    {%- for row in run_query(recorded).rows -%}
        {%- do counts.update({row[0]: row[1]}) -%}
    {%- endfor -%}
    {%- if 'incremental' not in counts -%}
        {{ return('') }}
    {%- endif -%}
    {%- set columns = {} -%}
    {%- for kind, kind_columns in processed_rebuilt_columns(relation.identifier).items() -%}
        {%- if counts.get(kind, 0) > 0 -%}
            {%- do columns.update({kind: kind_columns}) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(touched_rows_condition(relation.identifier, columns)) }}
{%- endmacro %}
