{#- Cleaning rules shared by the staging models: one definition per rule. -#}

{#- Usernames match case-insensitively (docs/data_contracts.md): staging keys on this. -#}
{% macro user_key(expression) -%}
    lower(trim(cast({{ expression }} as {{ sql_type('string') }})))
{%- endmacro %}

{#- MAL shows 0 for "not scored": that is missing, not the lowest score. -#}
{% macro score_or_null(expression, kind='int') -%}
    nullif({{ try_cast(expression, kind) }}, 0)
{%- endmacro %}

{#- Anime-list statuses: MAL's numeric codes and display spellings → the five contract values.
    Anything else is kept (normalized) so the quality gate can name it instead of losing it. -#}
{% macro normalize_list_status(expression) -%}
    {%- set key = "lower(replace(replace(trim(cast(" ~ expression ~ " as " ~ sql_type('string')
        ~ ")), ' ', '_'), '-', '_'))" -%}
    case {{ key }}
        when '1' then 'watching'
        when 'watching' then 'watching'
        when 'currently_watching' then 'watching'
        when '2' then 'completed'
        when 'completed' then 'completed'
        when '3' then 'on_hold'
        when 'on_hold' then 'on_hold'
        when 'onhold' then 'on_hold'
        when '4' then 'dropped'
        when 'dropped' then 'dropped'
        when '6' then 'plan_to_watch'
        when 'plan_to_watch' then 'plan_to_watch'
        when 'plantowatch' then 'plan_to_watch'
        when 'ptw' then 'plan_to_watch'
        when '' then null
        else {{ key }}
    end
{%- endmacro %}

{#- Airing statuses as MAL displays them (Jikan uses the same words). -#}
{% macro normalize_anime_status(expression) -%}
    {%- set text = "trim(cast(" ~ expression ~ " as " ~ sql_type('string') ~ "))" -%}
    case lower({{ text }})
        when 'finished airing' then 'Finished Airing'
        when 'finished' then 'Finished Airing'
        when 'currently airing' then 'Currently Airing'
        when 'airing' then 'Currently Airing'
        when 'not yet aired' then 'Not yet aired'
        when 'upcoming' then 'Not yet aired'
        when '' then null
        else {{ text }}
    end
{%- endmacro %}

{#- MAL's age ratings (contracts.landing AGE_RATINGS): its API codes and the labels its pages and
    Jikan show → the label. The crawler refuses anything else with a note; here a value that
    still is not a rating (a row written into landing by other means) is missing. -#}
{% macro normalize_age_rating(expression) -%}
    case lower(trim(cast({{ expression }} as {{ sql_type('string') }})))
        when 'g' then 'G - All Ages'
        when 'g - all ages' then 'G - All Ages'
        when 'pg' then 'PG - Children'
        when 'pg - children' then 'PG - Children'
        when 'pg_13' then 'PG-13 - Teens 13 or older'
        when 'pg-13' then 'PG-13 - Teens 13 or older'
        when 'pg-13 - teens 13 or older' then 'PG-13 - Teens 13 or older'
        when 'r' then 'R - 17+ (violence & profanity)'
        when 'r - 17+ (violence & profanity)' then 'R - 17+ (violence & profanity)'
        when 'r+' then 'R+ - Mild Nudity'
        when 'r+ - mild nudity' then 'R+ - Mild Nudity'
        when 'rx' then 'Rx - Hentai'
        when 'rx - hentai' then 'Rx - Hentai'
        else null
    end
{%- endmacro %}

{#- Empty or "Unknown" text is missing. -#}
{% macro clean_text(expression) -%}
    {%- set text = "trim(cast(" ~ expression ~ " as " ~ sql_type('string') ~ "))" -%}
    case when {{ text }} = '' or lower({{ text }}) = 'unknown' then null else {{ text }} end
{%- endmacro %}

{#- The airing season of a start date: Winter = Jan–Mar, Spring = Apr–Jun, Summer = Jul–Sep,
    Fall = Oct–Dec, e.g. "Spring 1998". -#}
{% macro season_of(date_expression) -%}
    case
        when {{ date_expression }} is null then null
        else concat(
            case
                when extract(month from {{ date_expression }}) <= 3 then 'Winter'
                when extract(month from {{ date_expression }}) <= 6 then 'Spring'
                when extract(month from {{ date_expression }}) <= 9 then 'Summer'
                else 'Fall'
            end,
            ' ',
            cast(extract(year from {{ date_expression }}) as {{ sql_type('string') }})
        )
    end
{%- endmacro %}
