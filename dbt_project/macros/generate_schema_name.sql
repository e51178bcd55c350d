{#- Schemas are exactly `staging` / `processed` on every target, the same names the Dagster asset
    key prefixes and the IO manager use; dbt's default would prefix them with the target schema. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
