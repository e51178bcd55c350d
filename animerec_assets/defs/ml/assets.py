"""ML assets: user -> anime retrieval and ranking, and anime -> anime (evaluation.py judges them).

Inputs are the processed tables, loaded by the default ``io_manager`` (DuckDB locally,
BigQuery in production); outputs are warehouse tables plus versioned model artifacts in the
artifact store. The model code is ``animerec_assets/lib/ml`` (pure); TensorFlow is imported
only when an asset runs, so loading the code location stays fast.
"""

# No ``from __future__ import annotations``: Dagster inspects the real annotations.

import tempfile
import time
from pathlib import Path

import dagster as dg
import pandas as pd

from animerec_assets.defs.keys import (
    DUCKDB_POOL,
    ML_ANIME_ANIME_RANKED,
    ML_USER_ANIME_RANKED,
    ML_USER_ANIME_RANKING_LISTS,
    ML_USER_ANIME_RETRIEVAL,
    PROCESSED_ANIME,
    PROCESSED_ANIME_ANIME,
    PROCESSED_USER_ANIME,
)
from animerec_assets.defs.ml.config import (
    AnimeAnimeTraining,
    UserAnimeTraining,
    anime_anime_config,
    user_anime_config,
)
from animerec_assets.deploy_tags import TRAINING_OP_TAGS
from animerec_assets.resources import ArtifactStoreResource

KINDS = {"tensorflow"}


@dg.multi_asset(
    outs={
        "user_anime_retrieval": dg.AssetOut(
            key=ML_USER_ANIME_RETRIEVAL,
            kinds=KINDS,
            description="Top-300 candidates per user (TFRS retrieval blended with EASE), "
            "with the ranking features of each candidate.",
        ),
        "user_anime_ranking_lists": dg.AssetOut(
            key=ML_USER_ANIME_RANKING_LISTS,
            kinds=KINDS,
            description="Labelled candidate lists of an inner hold-out split: ranker data.",
        ),
    },
    ins={
        "user_anime": dg.AssetIn(key=PROCESSED_USER_ANIME),
        "anime": dg.AssetIn(key=PROCESSED_ANIME),
        "anime_anime": dg.AssetIn(key=PROCESSED_ANIME_ANIME),
    },
    group_name="ml",
    pool=DUCKDB_POOL,
    op_tags=TRAINING_OP_TAGS,
)
def user_anime_retrieval(
    context: dg.AssetExecutionContext,
    config: UserAnimeTraining,
    artifacts: ArtifactStoreResource,
    user_anime: pd.DataFrame,
    anime: pd.DataFrame,
    anime_anime: pd.DataFrame,
):
    from animerec_assets.lib.ml.content import CONTENT_FEATURES
    from animerec_assets.lib.ml.data import clean_user_anime
    from animerec_assets.lib.ml.persist import save_candidate_generator
    from animerec_assets.lib.ml.tables import candidate_frame, lists_to_frame
    from animerec_assets.lib.ml.user_pipeline import fit_candidates

    started = time.monotonic()
    train = clean_user_anime(user_anime)
    context.log.info(f"fitting user -> anime retrieval on {len(train):,} user_anime rows")
    # the anime tables give the rankers what the ids do not carry (genres, type, studios,
    # MAL score, sequels and other relations)
    stage = fit_candidates(
        train, user_anime_config(config), context.log.info, anime=anime, anime_anime=anime_anime
    )
    candidates = candidate_frame(stage.generator, config.n_candidates, context.log.info)
    lists = lists_to_frame(stage.lists, stage.generator.encoded.anime_ids)
    with tempfile.TemporaryDirectory() as folder:
        saved = save_candidate_generator(stage.generator, Path(folder))
        ref = artifacts.publish(
            "user_anime_retrieval", Path(folder), {**saved, "validation": stage.validation}
        )
    context.log.info(f"published {ref.uri}")
    best = max(stage.validation.values(), key=lambda m: m.get("recall@300", 0.0))
    yield dg.Output(
        candidates,
        output_name="user_anime_retrieval",
        metadata={
            "model_version": ref.version,
            "artifact_uri": ref.uri,
            "users": int(candidates["user_id"].nunique()),
            "rows": len(candidates),
            "ease_weight": float(stage.generator.ease_weight),
            "rp3_weight": float(stage.generator.rp3_weight),
            "ease_l2": float(stage.generator.ease_l2 or 0.0),
            "validation_recall@300": float(best.get("recall@300", 0.0)),
            # share of candidate rows with a non-zero value of each content feature: 0 means
            # the anime table did not reach the model (or carries no such metadata)
            **{
                f"nonzero_share_{name}": float((candidates[name] != 0).mean())
                if len(candidates)
                else 0.0
                for name in CONTENT_FEATURES
            },
            "seconds": round(time.monotonic() - started, 1),
        },
    )
    yield dg.Output(
        lists,
        output_name="user_anime_ranking_lists",
        metadata={"users": int(lists["user_id"].nunique()), "rows": len(lists)},
    )


@dg.asset(
    key=ML_USER_ANIME_RANKED,
    ins={
        "candidates": dg.AssetIn(key=ML_USER_ANIME_RETRIEVAL),
        "ranking_lists": dg.AssetIn(key=ML_USER_ANIME_RANKING_LISTS),
    },
    group_name="ml",
    kinds=KINDS,
    pool=DUCKDB_POOL,
    op_tags=TRAINING_OP_TAGS,
    description="Every user's 300 candidates re-ranked by the better of the pointwise (MSE) and "
    "listwise (ListMLE) rankers on validation (or left in candidate order if neither helps).",
)
def user_anime_ranked(
    context: dg.AssetExecutionContext,
    config: UserAnimeTraining,
    artifacts: ArtifactStoreResource,
    candidates: pd.DataFrame,
    ranking_lists: pd.DataFrame,
) -> dg.Output:
    from animerec_assets.lib.ml.persist import save_rankers
    from animerec_assets.lib.ml.tables import lists_on_catalogue, rerank_candidates
    from animerec_assets.lib.ml.user_pipeline import fit_rankers

    started = time.monotonic()
    lists, catalogue = lists_on_catalogue(ranking_lists, candidates)
    rankers, chosen, validation = fit_rankers(
        lists, len(catalogue), user_anime_config(config), log=context.log.info
    )
    ranked = rerank_candidates(
        candidates, catalogue, None if chosen == "candidates" else rankers[chosen]
    )
    with tempfile.TemporaryDirectory() as folder:
        saved = save_rankers(rankers, chosen, Path(folder), catalogue)
        ref = artifacts.publish(
            "user_anime_ranking", Path(folder), {**saved, "validation": validation}
        )
    context.log.info(f"ranking = {chosen}; published {ref.uri}")
    return dg.Output(
        ranked,
        metadata={
            "model_version": ref.version,
            "artifact_uri": ref.uri,
            "ranking": chosen,
            **{f"validation_ndcg@20_{name}": float(m["ndcg@20"]) for name, m in validation.items()},
            "users": int(ranked["user_id"].nunique()),
            "rows": len(ranked),
            "explained_share": float(ranked["reason_anime_id"].notna().mean())
            if len(ranked)
            else 0.0,
            "seconds": round(time.monotonic() - started, 1),
        },
    )


@dg.asset(
    key=ML_ANIME_ANIME_RANKED,
    ins={
        "anime": dg.AssetIn(key=PROCESSED_ANIME),
        "anime_anime": dg.AssetIn(key=PROCESSED_ANIME_ANIME),
        "user_anime": dg.AssetIn(key=PROCESSED_USER_ANIME),
    },
    group_name="ml",
    kinds=KINDS,
    pool=DUCKDB_POOL,
    op_tags=TRAINING_OP_TAGS,
    description="For every anime, 300 anime to watch next: pairs from related anime, MAL "
    "recommendations, genre similarity and co-completion -> TFRS retrieval -> pairwise ranking.",
)
def anime_anime_ranked(
    context: dg.AssetExecutionContext,
    config: AnimeAnimeTraining,
    artifacts: ArtifactStoreResource,
    anime: pd.DataFrame,
    anime_anime: pd.DataFrame,
    user_anime: pd.DataFrame,
) -> dg.Output:
    from animerec_assets.lib.ml.anime_anime import candidate_pairs, fit_anime_anime
    from animerec_assets.lib.ml.data import clean_user_anime
    from animerec_assets.lib.ml.persist import save_anime_anime

    started = time.monotonic()
    aa_config = anime_anime_config(config)
    interactions = clean_user_anime(user_anime)
    pairs = candidate_pairs(anime, anime_anime, interactions, aa_config)
    by_source = {k: int(v) for k, v in pairs["source"].value_counts().items()}
    context.log.info(f"anime -> anime training pairs by source: {by_source}")
    model = fit_anime_anime(pairs, anime, interactions, aa_config)
    table = model.table("ranked")
    with tempfile.TemporaryDirectory() as folder:
        saved = save_anime_anime(model, Path(folder))
        ref = artifacts.publish(
            "anime_anime", Path(folder), {**saved, "pairs_by_source": by_source}
        )
    context.log.info(f"published {ref.uri}")
    return dg.Output(
        table,
        metadata={
            "model_version": ref.version,
            "artifact_uri": ref.uri,
            "pairs_by_source": dg.MetadataValue.json(by_source),
            "anime": int(table["animeA"].nunique()),
            "rows": len(table),
            "seconds": round(time.monotonic() - started, 1),
        },
    )
