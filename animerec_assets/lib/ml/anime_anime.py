"""Anime -> anime: candidate pairs from four sources, TFRS retrieval, pairwise ranking.

Training pairs (animeA, animeB, weight) come from the original system's four sources:
related anime (sequels, side stories...), MAL user recommendations (weighted by the number of
recommenders), genre cosine similarity, and anime co-completed by many users within a short
window (needs ``last_interaction_date``; without dates that source is empty). A two-tower
retrieval model learns from the weighted pairs and retrieves the top 300 animeB for every
animeA; a pairwise model trained on (anime, retrieved_1, retrieved_2, label) re-ranks them.
Users get the ranked list of their last completed anime (or the blend over all of them).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import duckdb
import numpy as np
import pandas as pd
from scipy import sparse

from animerec_assets.lib.ml.data import POSITIVE_SCORE, require_columns
from animerec_assets.lib.ml.metrics import lookup
from animerec_assets.lib.ml.tf_env import import_tf, seed_everything
from animerec_assets.lib.ml.topk import top_k, top_k_block

SOURCES = ("related", "recommendation", "genre", "co_completion")


@dataclass(frozen=True)
class AnimeAnimeConfig:
    genre_neighbours: int = 20
    genre_weight: float = 0.5
    co_completion_window_days: float = 14.0
    co_completion_min_users: int = 3
    embedding_dim: int = 64
    retrieval_epochs: int = 8
    retrieval_batch_size: int = 2048
    retrieval_learning_rate: float = 0.01
    temperature: float = 0.1
    ranking_epochs: int = 4
    ranking_pairs_per_anime: int = 30
    ranking_learning_rate: float = 0.003
    n_candidates: int = 300
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# ---------------------------------------------------------------- candidate pairs (pure)


def related_pairs(anime_anime: pd.DataFrame) -> pd.DataFrame:
    rows = anime_anime[anime_anime["related"].fillna(False).astype(bool)]
    return _both_ways(rows[["animeA", "animeB"]].assign(weight=1.0))


def recommendation_pairs(anime_anime: pd.DataFrame) -> pd.DataFrame:
    """MAL user recommendations, weight log1p(recommenders) scaled to (0, 1]."""
    rows = anime_anime[anime_anime["recommendation"].fillna(False).astype(bool)]
    count = pd.to_numeric(rows["num_recommenders"], errors="coerce").fillna(1).clip(lower=1)
    weight = np.log1p(count) / np.log1p(max(float(count.max()), 1.0)) if len(rows) else count
    return _both_ways(rows[["animeA", "animeB"]].assign(weight=np.asarray(weight, float)))


def genre_list(value: Any) -> list[str]:
    """Genres as a list whatever the warehouse returned: a list/array, "A, B" text, or null."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return []
    if isinstance(value, str):
        text = value.strip().strip("[]")
        return [part.strip().strip("'\"") for part in text.split(",") if part.strip()]
    return [str(part) for part in value if part is not None and str(part)]


def genre_pairs(anime: pd.DataFrame, neighbours: int, weight: float) -> pd.DataFrame:
    """Each anime's ``neighbours`` most genre-similar anime (cosine of genre sets)."""
    require_columns(anime, ("anime_id", "genres"), "anime")
    genres = anime["genres"].map(genre_list)
    exploded = pd.DataFrame({"row": np.arange(len(anime)), "genre": genres}).explode("genre")
    exploded = exploded.dropna()
    if exploded.empty:
        return _empty_pairs()
    codes, _ = pd.factorize(exploded["genre"])
    matrix = sparse.csr_matrix(
        (np.ones(len(codes), np.float32), (exploded["row"].to_numpy(), codes)),
        shape=(len(anime), codes.max() + 1),
    )
    matrix.data[:] = 1.0
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    matrix = sparse.diags(1.0 / np.maximum(norms, 1e-9)) @ matrix
    item_t = matrix.T.tocsr()
    has_genre = norms > 0

    def similarity(rows: np.ndarray) -> np.ndarray:
        block = np.asarray((matrix[rows] @ item_t).todense())
        block[np.arange(len(rows)), rows] = -np.inf
        block[:, ~has_genre] = -np.inf
        return block

    rows = np.flatnonzero(has_genre)
    best = top_k(similarity, rows, neighbours, block_size=1024)
    sims = lookup(sparse.csr_matrix(matrix @ item_t)[rows], best)  # cosine of each pair
    a, j = np.nonzero((best >= 0) & (sims > 0))
    ids = anime["anime_id"].to_numpy()
    return pd.DataFrame(
        {"animeA": ids[rows[a]], "animeB": ids[best[a, j]], "weight": weight * sims[a, j]}
    )


def co_completion_pairs(
    user_anime: pd.DataFrame, window_days: float, min_users: int
) -> pd.DataFrame:
    """Anime pairs completed by at least ``min_users`` users within ``window_days`` of each other.

    A DuckDB self-join per user; rows without a date cannot be placed in time and are skipped,
    so a ratings file without timestamps yields no pairs.
    """
    frame = user_anime[["user_id", "anime_id", "status", "last_interaction_date"]]
    frame = frame[(frame["status"] == "completed") & frame["last_interaction_date"].notna()]
    if frame.empty:
        return _empty_pairs()
    con = duckdb.connect()
    try:
        con.register("completed", frame)
        pairs = con.execute(
            """
            select a.anime_id as animeA, b.anime_id as animeB, count(distinct a.user_id) as n
            from completed a join completed b
              on a.user_id = b.user_id and a.anime_id <> b.anime_id
             and abs(epoch(b.last_interaction_date) - epoch(a.last_interaction_date))
                 <= ? * 86400
            group by 1, 2 having count(distinct a.user_id) >= ?
            """,
            [float(window_days), int(min_users)],
        ).df()
    finally:
        con.close()
    if pairs.empty:
        return _empty_pairs()
    weight = np.log1p(pairs["n"]) / np.log1p(pairs["n"].max())
    return pairs[["animeA", "animeB"]].assign(weight=weight.to_numpy(float))


def candidate_pairs(
    anime: pd.DataFrame,
    anime_anime: pd.DataFrame,
    user_anime: pd.DataFrame,
    config: AnimeAnimeConfig,
) -> pd.DataFrame:
    """All four sources stacked: animeA, animeB, source, weight (one row per pair and source)."""
    require_columns(
        anime_anime,
        ("animeA", "animeB", "recommendation", "num_recommenders", "related"),
        "anime_anime",
    )
    parts = {
        "related": related_pairs(anime_anime),
        "recommendation": recommendation_pairs(anime_anime),
        "genre": genre_pairs(anime, config.genre_neighbours, config.genre_weight),
        "co_completion": co_completion_pairs(
            user_anime, config.co_completion_window_days, config.co_completion_min_users
        ),
    }
    filled = [part.assign(source=name) for name, part in parts.items() if len(part)]
    if not filled:
        return _empty_pairs().assign(source=pd.Series(dtype="object"))[
            ["animeA", "animeB", "source", "weight"]
        ]
    stacked = pd.concat(filled)
    stacked = stacked[stacked["animeA"] != stacked["animeB"]]
    return stacked.astype({"animeA": "int64", "animeB": "int64", "weight": "float64"})[
        ["animeA", "animeB", "source", "weight"]
    ].reset_index(drop=True)


def _both_ways(pairs: pd.DataFrame) -> pd.DataFrame:
    flipped = pairs.rename(columns={"animeA": "animeB", "animeB": "animeA"})
    both = pd.concat([pairs, flipped[pairs.columns]])
    return both.groupby(["animeA", "animeB"], as_index=False)["weight"].max()


def _empty_pairs() -> pd.DataFrame:
    return pd.DataFrame(
        {"animeA": pd.Series(dtype="int64"), "animeB": pd.Series(dtype="int64"), "weight": []}
    )


# ---------------------------------------------------------------- models


@dataclass
class AnimeAnimeModel:
    """Vocabulary, pair weights, retrieved and re-ranked top lists for every anime."""

    anime_ids: np.ndarray  # index -> anime_id
    pair_weights: sparse.csr_matrix  # summed source weights, animeA x animeB
    retrieved: np.ndarray  # [n_anime, k] anime indices, retrieval order
    ranked: np.ndarray  # [n_anime, k] the same, re-ranked by the pairwise model
    ranked_scores: np.ndarray  # [n_anime, k] the pairwise model's score of each ranked pair
    config: AnimeAnimeConfig
    retrieval_model: Any = None
    ranking_model: Any = None

    def anime_index(self, anime_ids: np.ndarray) -> np.ndarray:
        return pd.Index(self.anime_ids).get_indexer(np.asarray(anime_ids, dtype="int64"))

    def table(self, which: str = "ranked") -> pd.DataFrame:
        """animeA, animeB, rank (1 = best), score for every anime with candidates."""
        lists = self.ranked if which == "ranked" else self.retrieved
        a, r = np.nonzero(lists >= 0)
        score = self.ranked_scores[a, r] if which == "ranked" else -(r + 1.0)
        return pd.DataFrame(
            {
                "animeA": self.anime_ids[a],
                "animeB": self.anime_ids[lists[a, r]],
                "rank": (r + 1).astype(np.int32),
                "score": np.asarray(score, dtype=np.float64),
            }
        )


def _vocabulary(pairs: pd.DataFrame, anime: pd.DataFrame, user_anime: pd.DataFrame) -> np.ndarray:
    ids = np.concatenate(
        [
            pairs["animeA"].to_numpy(np.int64),
            pairs["animeB"].to_numpy(np.int64),
            anime["anime_id"].to_numpy(np.int64),
            user_anime["anime_id"].to_numpy(np.int64),
        ]
    )
    return np.unique(ids)


def _train_retrieval(weights: sparse.csr_matrix, config: AnimeAnimeConfig) -> Any:
    tf, tfrs = import_tf()
    seed_everything(config.seed)
    n = weights.shape[0]
    coo = weights.tocoo()
    dim = config.embedding_dim

    def embedding(seed: int) -> Any:
        init = tf.keras.initializers.RandomNormal(stddev=0.05, seed=seed)
        return tf.keras.layers.Embedding(n, dim, embeddings_initializer=init)

    # A lazily imported base class: typed Any, as TensorFlow ships no stubs.
    tfrs_model: Any = tfrs.Model

    class AnimeAnimeRetrieval(tfrs_model):
        def __init__(self) -> None:
            super().__init__()
            self.query = embedding(config.seed + 1)
            self.candidate = embedding(config.seed + 2)
            self.task = tfrs.tasks.Retrieval(temperature=config.temperature)

        def compute_loss(self, features: dict[str, Any], training: bool = False) -> Any:
            return self.task(
                self.query(features["animeA"]),
                self.candidate(features["animeB"]),
                sample_weight=features["weight"],
                candidate_ids=features["animeB"],
                compute_metrics=False,
            )

    model = AnimeAnimeRetrieval()
    model.compile(
        optimizer=tf.keras.optimizers.Adam(learning_rate=config.retrieval_learning_rate),
        steps_per_execution=16,
    )
    dataset = (
        tf.data.Dataset.from_tensor_slices(
            {
                "animeA": coo.row.astype(np.int32),
                "animeB": coo.col.astype(np.int32),
                "weight": coo.data.astype(np.float32),
            }
        )
        .shuffle(coo.nnz, seed=config.seed)
        .batch(config.retrieval_batch_size)
    )
    model.fit(dataset, epochs=config.retrieval_epochs, verbose=0)
    return model


def pairwise_examples(
    retrieved: np.ndarray, weights: sparse.csr_matrix, per_anime: int, seed: int
) -> dict[str, np.ndarray]:
    """(anime, retrieved_1, retrieved_2, label) rows: label 1 when retrieved_1 is the better one.

    For each anime, up to ``per_anime`` retrieved candidates that are training pairs are each
    matched with a random retrieved candidate of lower pair weight; the two are swapped at
    random so both labels occur.
    """
    rng = np.random.default_rng(seed)
    pair_weight = lookup(weights, retrieved)
    anchor, position = np.nonzero((pair_weight > 0) & (retrieved >= 0))
    keep = np.lexsort((rng.random(len(anchor)), anchor))
    anchor, position = anchor[keep], position[keep]
    rank_in_anchor = np.arange(len(anchor)) - np.searchsorted(anchor, anchor)
    take = rank_in_anchor < per_anime
    anchor, position = anchor[take], position[take]
    width = (retrieved >= 0).sum(axis=1)
    other = (rng.random(len(anchor)) * np.maximum(width[anchor], 1)).astype(np.int64)
    better = pair_weight[anchor, position] > pair_weight[anchor, other]
    anchor, position, other = anchor[better], position[better], other[better]
    swap = rng.random(len(anchor)) < 0.5
    first = np.where(swap, retrieved[anchor, other], retrieved[anchor, position])
    second = np.where(swap, retrieved[anchor, position], retrieved[anchor, other])
    return {
        "anime": anchor.astype(np.int32),
        "retrieved_1": first.astype(np.int32),
        "retrieved_2": second.astype(np.int32),
        "label": (~swap).astype(np.float32),
    }


def _train_pairwise(n: int, examples: dict[str, np.ndarray], config: AnimeAnimeConfig) -> Any:
    tf, tfrs = import_tf()
    seed_everything(config.seed)

    # A lazily imported base class: typed Any, as TensorFlow ships no stubs.
    keras_model: Any = tf.keras.Model

    class PairScorer(keras_model):
        def __init__(self) -> None:
            super().__init__()
            init = tf.keras.initializers.RandomNormal(stddev=0.05, seed=config.seed + 3)
            self.anchor = tf.keras.layers.Embedding(n, 32, embeddings_initializer=init)
            self.other = tf.keras.layers.Embedding(n, 32, embeddings_initializer=init)
            self.mlp = tf.keras.Sequential(
                [tf.keras.layers.Dense(64, activation="relu"), tf.keras.layers.Dense(1)]
            )

        def call(self, anime: Any, retrieved: Any) -> Any:
            a, r = self.anchor(anime), self.other(retrieved)
            return tf.squeeze(self.mlp(tf.concat([a, r, a * r], axis=-1)), axis=-1)

    # A lazily imported base class: typed Any, as TensorFlow ships no stubs.
    tfrs_model: Any = tfrs.Model

    class PairwiseRanking(tfrs_model):
        def __init__(self) -> None:
            super().__init__()
            self.scorer = PairScorer()
            self.task = tfrs.tasks.Ranking(
                loss=tf.keras.losses.BinaryCrossentropy(from_logits=True)
            )

        def compute_loss(self, features: dict[str, Any], training: bool = False) -> Any:
            first = self.scorer(features["anime"], features["retrieved_1"])
            second = self.scorer(features["anime"], features["retrieved_2"])
            return self.task(
                labels=features["label"], predictions=first - second, compute_metrics=False
            )

    model = PairwiseRanking()
    model.compile(optimizer=tf.keras.optimizers.Adam(learning_rate=config.ranking_learning_rate))
    size = len(examples["label"])
    dataset = (
        tf.data.Dataset.from_tensor_slices(examples).shuffle(size, seed=config.seed).batch(1024)
    )
    if size:
        model.fit(dataset, epochs=config.ranking_epochs, verbose=0)
    return model


def fit_anime_anime(
    pairs: pd.DataFrame,
    anime: pd.DataFrame,
    user_anime: pd.DataFrame,
    config: AnimeAnimeConfig | None = None,
) -> AnimeAnimeModel:
    """Train retrieval and pairwise ranking on ``pairs``; retrieve and re-rank for every anime."""
    config = config or AnimeAnimeConfig()
    if pairs.empty:
        raise ValueError("no anime -> anime candidate pairs: nothing to train on")
    tf, _ = import_tf()
    anime_ids = _vocabulary(pairs, anime, user_anime)
    index = pd.Index(anime_ids)
    n = len(anime_ids)
    weights = sparse.csr_matrix(
        (
            pairs["weight"].to_numpy(np.float32),
            (index.get_indexer(pairs["animeA"]), index.get_indexer(pairs["animeB"])),
        ),
        shape=(n, n),
    )
    weights.sum_duplicates()
    retrieval = _train_retrieval(weights, config)
    query = retrieval.query.embeddings.numpy()
    candidate = retrieval.candidate.embeddings.numpy()
    k = min(config.n_candidates, n - 1)
    itself = sparse.identity(n, format="csr")
    retrieved = top_k(lambda rows: query[rows] @ candidate.T, np.arange(n), k, exclude=itself)
    examples = pairwise_examples(retrieved, weights, config.ranking_pairs_per_anime, config.seed)
    ranking = _train_pairwise(n, examples, config)
    scores = np.empty(retrieved.shape, dtype=np.float32)
    for start in range(0, n, 512):
        block = retrieved[start : start + 512]
        anchors = np.repeat(np.arange(start, start + len(block)), block.shape[1])
        scores[start : start + len(block)] = (
            ranking.scorer(
                tf.constant(anchors, tf.int32), tf.constant(np.maximum(block, 0).ravel(), tf.int32)
            )
            .numpy()
            .reshape(block.shape)
        )
    scores[retrieved < 0] = -np.inf
    order = top_k_block(scores, k)
    ranked = np.where(order >= 0, np.take_along_axis(retrieved, np.maximum(order, 0), axis=1), -1)
    ranked_scores = np.where(
        order >= 0, np.take_along_axis(scores, np.maximum(order, 0), axis=1), -np.inf
    )
    return AnimeAnimeModel(
        anime_ids, weights, retrieved, ranked, ranked_scores, config, retrieval, ranking
    )


# ---------------------------------------------------------------- per-user lists


def last_completed(user_anime: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Each user's most recently completed positive anime (random one when undated)."""
    frame = user_anime[
        (user_anime["status"] == "completed") & (user_anime["score"] >= POSITIVE_SCORE)
    ]
    rng = np.random.default_rng(seed)
    dates = frame["last_interaction_date"]
    when = (
        dates.astype("int64").where(dates.notna(), np.iinfo(np.int64).min).to_numpy()
        if len(frame)
        else np.array([], np.int64)
    )
    order = np.lexsort((rng.random(len(frame)), when, frame["user_id"].astype(str).to_numpy()))
    ordered = frame.iloc[order]
    return ordered.drop_duplicates("user_id", keep="last")[["user_id", "anime_id"]]


def user_lists_from_anchor(
    model: AnimeAnimeModel,
    anchor_anime_ids: np.ndarray,
    catalogue: np.ndarray,
    seen: sparse.csr_matrix,
    users: np.ndarray,
    k: int,
    which: str = "ranked",
) -> np.ndarray:
    """Each user's list = the anchor anime's list, mapped to catalogue indices, minus seen.

    ``users`` are rows of ``seen``; returns [len(users), k] catalogue indices (-1 padded).
    """
    lists = model.ranked if which == "ranked" else model.retrieved
    anchors = model.anime_index(anchor_anime_ids)
    to_catalogue = pd.Index(catalogue).get_indexer(model.anime_ids)
    picked = np.where(anchors[:, None] >= 0, lists[np.maximum(anchors, 0)], -1)
    mapped = np.where(picked >= 0, to_catalogue[np.maximum(picked, 0)], -1)
    already = lookup(seen[users], mapped) != 0
    mapped[already] = -1
    order = np.argsort(mapped < 0, axis=1, kind="stable")  # valid entries first, order kept
    return np.take_along_axis(mapped, order, axis=1)[:, :k]


def similarity_matrix(model: AnimeAnimeModel, catalogue: np.ndarray) -> sparse.csr_matrix:
    """Ranked lists as a sparse catalogue x catalogue matrix, weight 1/log2(rank + 1)."""
    to_catalogue = pd.Index(catalogue).get_indexer(model.anime_ids)
    a, r = np.nonzero(model.ranked >= 0)
    rows, cols = to_catalogue[a], to_catalogue[model.ranked[a, r]]
    keep = (rows >= 0) & (cols >= 0)
    weight = 1.0 / np.log2(r[keep] + 2.0)
    n = len(catalogue)
    return sparse.csr_matrix((weight, (rows[keep], cols[keep])), shape=(n, n), dtype=np.float32)
