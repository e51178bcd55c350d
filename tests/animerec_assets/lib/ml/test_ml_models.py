"""TFRS stages on the clustered world: they must find the clusters, and keep their contracts.

Tiny epochs keep this module well under a minute of TensorFlow work.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from ml_world import cluster_of_anime
from scipy import sparse

from animerec_assets.lib.ml.anime_anime import (
    AnimeAnimeConfig,
    candidate_pairs,
    co_completion_pairs,
    fit_anime_anime,
    last_completed,
    user_lists_from_anchor,
)
from animerec_assets.lib.ml.data import clean_user_anime, encode
from animerec_assets.lib.ml.evaluation import (
    EvaluationConfig,
    chart_png,
    evaluate_seed,
    markdown_table,
    summarize,
)
from animerec_assets.lib.ml.ranking import RankingConfig, list_mle_loss_class
from animerec_assets.lib.ml.serve import served_table
from animerec_assets.lib.ml.tables import candidate_frame, rerank_candidates
from animerec_assets.lib.ml.topk import top_k
from animerec_assets.lib.ml.user_anime import RetrievalConfig, train_retrieval
from animerec_assets.lib.ml.user_pipeline import (
    UserAnimeConfig,
    UserAnimeRecommender,
    _candidates_by_share,
    fit_user_anime,
)
from animerec_assets.lib.serving.payloads import prepare_payloads

TINY_RETRIEVAL = RetrievalConfig(
    embedding_dim=16, epochs=15, batch_size=128, learning_rate=0.03, history_length=32
)
TINY_USER = UserAnimeConfig(
    retrieval=TINY_RETRIEVAL,
    ranking=RankingConfig(epochs=3),
    n_candidates=40,
    ranking_schedules=((2, 0.01),),
)
TINY_ANIME = AnimeAnimeConfig(
    embedding_dim=16,
    retrieval_epochs=30,
    retrieval_batch_size=128,
    retrieval_learning_rate=0.03,
    ranking_epochs=3,
    n_candidates=40,
    co_completion_min_users=2,
)


def purity(anime_ids: np.ndarray, clusters: np.ndarray) -> float:
    valid = anime_ids > 0
    found = np.vectorize(cluster_of_anime)(np.where(valid, anime_ids, 1))
    return float((found == clusters[:, None])[valid].mean())


def user_clusters(user_ids: np.ndarray) -> np.ndarray:
    return np.array([int(str(u)[4]) for u in user_ids])


@pytest.mark.slow
def test_list_mle_matches_the_plackett_luce_likelihood() -> None:
    import tensorflow as tf

    labels = np.array([[3.0, 0.0, 1.0, -1.0]], np.float32)  # last one is padding
    scores = np.array([[0.5, 2.0, -1.0, 9.0]], np.float32)
    loss = list_mle_loss_class()(reduction="none")(tf.constant(labels), tf.constant(scores))
    # ideal order: item0 (3), item2 (1), item1 (0); only the two relevant positions count
    s0, s1, s2 = 0.5, 2.0, -1.0
    expected = (np.log(np.exp([s0, s2, s1]).sum()) - s0) + (np.log(np.exp([s2, s1]).sum()) - s2)
    assert loss.numpy()[0] == pytest.approx(expected, rel=1e-5)


@pytest.mark.slow
def test_top_k_agrees_with_tensorflow_top_k() -> None:
    """The fused kernel against an independent implementation (``tf.math.top_k``)."""
    import tensorflow as tf

    rng = np.random.default_rng(0)
    scores = rng.standard_normal((50, 400)).astype(np.float32)
    seen = sparse.random(50, 400, density=0.1, format="csr", random_state=0)
    users = np.arange(50)
    ours = top_k(lambda rows: scores[rows], users, 30, exclude=seen, block_size=16)
    masked = np.where(seen.toarray() > 0, -np.inf, scores).astype(np.float32)
    theirs = tf.math.top_k(masked, k=30, sorted=True).indices.numpy()
    assert (ours == theirs).all()
    assert not (seen[users[:, None], ours].toarray() > 0).any()


@pytest.mark.slow
def test_retrieval_alone_learns_the_clusters(world) -> None:
    encoded = encode(clean_user_anime(world[0]))
    trained = train_retrieval(encoded.positives, TINY_RETRIEVAL)
    users = np.arange(encoded.n_users)
    top = top_k(trained.score, users, 5, exclude=encoded.seen)
    assert purity(encoded.anime_ids[top], user_clusters(encoded.user_ids)) > 0.7


@pytest.fixture(scope="module")
def planned_world(world) -> pd.DataFrame:
    raw = world[0].copy()
    raw.loc[raw.index[::10], "status"] = "plan_to_watch"  # some listed titles are only planned
    return clean_user_anime(raw)


@pytest.fixture(scope="module")
def recommender(planned_world) -> UserAnimeRecommender:
    return fit_user_anime(planned_world, TINY_USER, log=lambda _: None)


@pytest.mark.slow
def test_user_pipeline_ranks_unseen_anime_of_the_users_cluster(planned_world, recommender) -> None:
    user_anime = planned_world
    assert recommender.chosen in {"mse", "listmle", "candidates"}
    assert {"candidates", "mse", "listmle"} <= set(recommender.validation)
    # each loss keeps its best (epochs, learning rate) on validation, every schedule recorded
    for loss in ("mse", "listmle"):
        tried_schedules = [
            recommender.validation[f"{loss} (epochs {epochs}, learning rate {rate:g})"]["ndcg@20"]
            for epochs, rate in ((3, 0.003), (2, 0.01))
        ]
        assert recommender.validation[loss]["ndcg@20"] == max(tried_schedules)
    assert recommender.ease_weight in TINY_USER.ease_weights
    # EASE's lambda is the grid value with the best validation NDCG@20, recorded with the others
    tried = {
        l2: recommender.validation[f"EASE lambda {l2:g}"]["ndcg@20"]
        for l2 in TINY_USER.ease_l2_grid
    }
    assert recommender.generator.ease_l2 == max(tried, key=tried.__getitem__)
    # the blend shares tried block by block on scores computed once find what the generator
    # finds scoring on its own
    generator, some = recommender.generator, np.arange(6)
    share = (generator.ease_weight, generator.rp3_weight)
    by_share = _candidates_by_share(generator, some, [(0.0, 0.0), share], 10, block=4)
    assert (generator.ease_weight, generator.rp3_weight) == share  # the last share tried stays
    np.testing.assert_array_equal(by_share[share], generator.candidates(some, 10))
    table = recommender.recommend()
    assert list(table.columns) == ["user_id", "anime_id", "rank", "score", "reason_anime_id"]
    # every reason is one of the user's own positives, never the recommended anime itself
    explained = table.dropna(subset=["reason_anime_id"])
    assert len(explained) > 0.9 * len(table)
    liked = user_anime[user_anime["score"] >= 7]
    own = explained.merge(
        liked, left_on=["user_id", "reason_anime_id"], right_on=["user_id", "anime_id"]
    )
    assert len(own) == len(explained)
    assert (explained["reason_anime_id"] != explained["anime_id"]).all()
    top = explained[explained["rank"] <= 5]  # the clusters: a top pick is explained from within
    same = np.vectorize(cluster_of_anime)(top["anime_id"].to_numpy()) == np.vectorize(
        cluster_of_anime
    )(top["reason_anime_id"].to_numpy(dtype=np.int64))
    assert same.mean() > 0.8
    assert (table.groupby("user_id")["score"].diff().dropna() <= 0).all()
    assert table.groupby("user_id")["rank"].max().eq(40).all()
    seen = user_anime.merge(table, on=["user_id", "anime_id"])
    assert seen.empty  # never recommends what is already on the list
    # the published candidates: plan-to-watch titles compete, nothing else listed does
    encoded = recommender.encoded
    users = np.arange(encoded.n_users)
    published = recommender.generator.candidates(users, 40, keep_planned=True)
    rows, positions = np.nonzero(published >= 0)
    listed = pd.DataFrame(
        {
            "user_id": encoded.user_ids[users[rows]],
            "anime_id": encoded.anime_ids[published[rows, positions]],
        }
    ).merge(user_anime, on=["user_id", "anime_id"])
    assert len(listed) > 0 and (listed["status"] == "plan_to_watch").all()
    top5 = table[table["rank"] <= 5]
    clusters = user_clusters(top5["user_id"].to_numpy())
    assert purity(top5["anime_id"].to_numpy()[:, None], clusters) > 0.8


@pytest.mark.slow
def test_served_table_is_the_model_jobs_ranked_table_cut_to_what_is_published(
    planned_world, recommender
) -> None:
    """Block by block, reasons only for the published rows: the same rows, ranks, scores and
    reasons as the model job's candidate table re-ranked, and the same payloads."""
    generator = recommender.generator
    candidates = candidate_frame(generator, 40, log=lambda _: None)
    similar = pd.DataFrame({"animeA": [1], "animeB": [2], "rank": [1], "score": [1.0]})
    anime = pd.DataFrame({"anime_id": generator.encoded.anime_ids, "title": "x"})
    lists = planned_world[["user_id", "anime_id", "status"]]
    for ranker in (None, recommender.rankers["listmle"]):
        whole = rerank_candidates(candidates, generator.encoded.anime_ids, ranker)
        served = served_table(generator, ranker, 40, None, block_users=16)
        key = ["user_id", "rank"]
        whole = whole.sort_values(key, ignore_index=True)
        served = served.sort_values(key, ignore_index=True)
        columns = ["user_id", "anime_id", "rank"]
        assert whole[columns].equals(served[columns])
        # the ranker's float32 sums differ in the last bits with the batch it scores in
        np.testing.assert_allclose(served["score"], whole["score"], rtol=1e-4, atol=1e-5)
        assert served["reason_anime_id"].equals(whole["reason_anime_id"])
        cut = served_table(generator, ranker, 40, 5, 2, block_users=16)
        assert cut.groupby("user_id").size().max() <= 7
        # the payloads of the cut table are those of the whole list (scores with 5 decimals:
        # both scored in the same blocks)
        payloads = [
            prepare_payloads(t, similar, anime, user_anime=lists, top_n_user=5, top_n_planned=2)
            for t in (served, cut)
        ]
        assert (payloads[0].user_keys == payloads[1].user_keys).all()
        assert (payloads[0].user_values == payloads[1].user_values).all()


def test_candidate_pairs_from_all_four_sources(world) -> None:
    user_anime, anime, anime_anime = clean_user_anime(world[0]), world[1], world[2]
    pairs = candidate_pairs(anime, anime_anime, user_anime, TINY_ANIME)
    assert set(pairs["source"]) == {"related", "recommendation", "genre", "co_completion"}
    related = pairs[pairs["source"] == "related"]
    assert {(61, 62), (62, 61), (91, 92), (92, 91)} == set(
        zip(related.animeA, related.animeB, strict=True)
    )
    recs = pairs[pairs["source"] == "recommendation"].set_index(["animeA", "animeB"])["weight"]
    assert recs[(1, 2)] == pytest.approx(1.0) and recs[(2, 1)] == pytest.approx(1.0)
    assert recs[(31, 32)] < recs[(1, 2)]  # fewer recommenders, lower weight
    genre = pairs[pairs["source"] == "genre"]
    identical = genre[np.isclose(genre["weight"], TINY_ANIME.genre_weight)]  # cosine 1
    assert len(identical) > 0
    assert (
        np.vectorize(cluster_of_anime)(identical.animeA)
        == np.vectorize(cluster_of_anime)(identical.animeB)
    ).all()
    assert (pairs["animeA"] != pairs["animeB"]).all()


def test_co_completion_needs_dates_and_respects_the_window(world) -> None:
    user_anime = clean_user_anime(world[0])
    wide = co_completion_pairs(user_anime, window_days=30, min_users=2)
    narrow = co_completion_pairs(user_anime, window_days=1, min_users=2)
    assert len(wide) > len(narrow) > 0
    undated = user_anime.assign(last_interaction_date=pd.NaT)
    assert co_completion_pairs(undated, window_days=30, min_users=1).empty


@pytest.mark.slow
def test_anime_anime_model_retrieves_reranks_and_serves_users(world) -> None:
    user_anime, anime, anime_anime = clean_user_anime(world[0]), world[1], world[2]
    pairs = candidate_pairs(anime, anime_anime, user_anime, TINY_ANIME)
    model = fit_anime_anime(pairs, anime, user_anime, TINY_ANIME)
    n = len(model.anime_ids)
    assert model.ranked.shape == (n, 40)
    assert not (model.ranked == np.arange(n)[:, None]).any()  # never recommends itself
    assert (np.sort(model.ranked, axis=1) == np.sort(model.retrieved, axis=1)).all()
    table = model.table()
    assert (
        purity(
            table["animeB"].to_numpy()[table["rank"] <= 5][:, None],
            np.vectorize(cluster_of_anime)(table["animeA"][table["rank"] <= 5]),
        )
        > 0.7
    )
    encoded = encode(user_anime)
    anchors = last_completed(user_anime, seed=0).set_index("user_id")["anime_id"]
    lists = user_lists_from_anchor(
        model,
        anchors.reindex(encoded.user_ids).to_numpy(),
        encoded.anime_ids,
        encoded.seen,
        np.arange(encoded.n_users),
        10,
    )
    rows = np.arange(encoded.n_users)[:, None]
    assert not (encoded.seen[rows, np.maximum(lists, 0)].toarray()[lists >= 0] > 0).any()


@pytest.mark.slow
def test_evaluation_table_covers_every_stage_and_baseline(world) -> None:
    user_anime, anime, anime_anime = clean_user_anime(world[0]), world[1], world[2]
    config = EvaluationConfig(user_anime=TINY_USER, anime_anime=TINY_ANIME)
    per_seed = evaluate_seed(user_anime, anime, anime_anime, 0, config, log=lambda _: None)
    summary = summarize(per_seed)
    models = list(summary["model"])
    assert models[:3] == ["popularity", "item-kNN (cosine)", "EASE (lambda=200)"]
    assert "user_anime final" in models
    assert any(m.startswith("anime_anime ranked") for m in models)
    final = summary.set_index("model").loc["user_anime final"]
    popularity = summary.set_index("model").loc["popularity"]
    assert final["ndcg@20_mean"] > popularity["ndcg@20_mean"]
    assert markdown_table(summary).count("\n") == len(summary) + 1
    assert chart_png(summary).startswith(b"\x89PNG")
