{#- not_null for a landing table that may not exist yet (the crawler creates landing tables on
    first write): a missing table has no NULL keys. Severity warn in _sources.yml: staging
    drops key-less rows, landing keeps them for whoever fixes the parser. -#}
{% test not_null_when_landed(model, column_name) %}
    {%- if execute and load_relation(model) is none %}
    select 1 as missing_table where 1 = 0
    {%- else %}
    select * from {{ model }} where {{ column_name }} is null
    {%- endif %}
{% endtest %}
