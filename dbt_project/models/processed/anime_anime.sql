-- One row per ordered pair of crawled anime (both still there) that MAL relates (sequel, side
-- story, ...) or that users recommend together; a pair that is both carries both sets of
-- columns. An incremental run rebuilds the pairs of the anime that moved.
{%- set incremental = is_incremental() %}

with
{%- if incremental %}
touched as (
    {{ touched_pair_anime(processed_since()) }}
),
{%- endif %}

relations as (
    select animeA, animeB, relation_type from {{ ref('stg_anime_relation') }}
),

recommendations as (
    select animeA, animeB, recommendation_url, num_recommenders
    from {{ ref('stg_anime_recommendation') }}
),

anime as (
    select anime.anime_id
    from {{ ref('stg_anime') }} as anime
    left join ({{ gone_anime() }}) as gone on gone.anime_id = anime.anime_id
    where gone.anime_id is null
),

pairs as (
    select animeA, animeB from relations
    union distinct
    select animeA, animeB from recommendations
)

select
    pairs.animeA,
    pairs.animeB,
    case when recommendations.animeA is null then 0 else 1 end as recommendation,
    recommendations.recommendation_url,
    recommendations.num_recommenders,
    case when relations.animeA is null then 0 else 1 end as related,
    relations.relation_type
from pairs
inner join anime as anime_a on anime_a.anime_id = pairs.animeA
inner join anime as anime_b on anime_b.anime_id = pairs.animeB
left join relations on relations.animeA = pairs.animeA and relations.animeB = pairs.animeB
left join recommendations
    on recommendations.animeA = pairs.animeA and recommendations.animeB = pairs.animeB
where pairs.animeA <> pairs.animeB
{%- if incremental %}
    and (
        pairs.animeA in (select anime_id from touched)
        or pairs.animeB in (select anime_id from touched)
    )
{%- endif %}
