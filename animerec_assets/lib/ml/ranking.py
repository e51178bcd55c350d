"""Ranking models for the user -> anime stage: pointwise (MSE) and listwise (ListMLE).

Both score a (user, candidate) pair from the same inputs: a few dense features (retrieval and
EASE scores, the candidate's position in the retrieved list, its popularity and mean score,
the user's mean score), optionally a learned anime-id embedding, on top of the candidate
generator's own score (the ranker starts from the candidate order and learns corrections).
Only the loss differs:
- pointwise: predict the score the user gave (0 when the candidate was not rated), MSE;
- listwise: ListMLE over each user's whole candidate list, relevance = the score.
There is no user-id embedding on purpose: the ranker must generalise to users it was not fit
on (we pick between the two losses on held-out users).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np

from animerec_assets.lib.ml.tf_env import import_tf, seed_everything

RankingLoss = Literal["mse", "listmle"]


@dataclass(frozen=True)
class RankingConfig:
    # 0 = no anime-id embedding: with one it memorised item priors of the fitting users and
    # lost to the candidate order on the test split (bench quality, ratings_dev)
    embedding_dim: int = 0
    hidden_units: tuple[int, ...] = (64, 32)
    epochs: int = 5  # measured: more epochs overfit the anime embeddings (bench quality)
    lists_per_batch: int = 16
    learning_rate: float = 0.003
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def list_mle_loss_class() -> Any:
    """``tf.keras.losses.Loss`` implementing ListMLE (Xia et al., 2008), built lazily.

    The Plackett-Luce likelihood of the ideal order: sort each list by relevance (ties broken at
    random), then -log P = sum_i [logsumexp(s_i..s_n) - s_i]. Only positions holding a relevant
    item are summed: the order among the many unrated candidates is unknown, not a target.
    Padding is marked by a negative label and never counted.
    """
    tf, _ = import_tf()

    # A lazily imported base class: typed Any, as TensorFlow ships no stubs.
    keras_loss: Any = tf.keras.losses.Loss

    class ListMLELoss(keras_loss):
        def call(self, y_true: Any, y_pred: Any) -> Any:
            y_true = tf.cast(y_true, tf.float32)
            y_pred = tf.cast(y_pred, tf.float32)
            valid = y_true >= 0.0
            noise = tf.random.uniform(tf.shape(y_true), maxval=1e-3)
            sort_key = tf.where(valid, y_true + noise, -1.0)
            order = tf.argsort(sort_key, axis=1, direction="DESCENDING")
            labels = tf.gather(y_true, order, batch_dims=1)
            scores = tf.gather(y_pred, order, batch_dims=1)
            # padded items sort last; give them -inf-like scores so they add nothing
            scores = tf.where(labels >= 0.0, scores, -1e9)
            tail = tf.math.cumulative_logsumexp(scores, axis=1, reverse=True)
            counted = tf.cast(labels > 0.0, tf.float32)
            return tf.reduce_sum((tail - scores) * counted, axis=1)

    return ListMLELoss


def build_ranking_model(
    n_anime: int,
    n_features: int,
    loss: RankingLoss,
    config: RankingConfig,
    feature_sample: Any,
    prior_feature: int = 0,
) -> Any:
    """A ``tfrs.Model`` scoring [lists, candidates] inputs with a ``tfrs.tasks.Ranking`` task.

    ``prior_feature`` is the column of ``features`` holding the candidate generator's score.
    """
    tf, tfrs = import_tf()

    # A lazily imported base class: typed Any, as TensorFlow ships no stubs.
    tfrs_model: Any = tfrs.Model

    class CandidateRanker(tfrs_model):
        def __init__(self) -> None:
            super().__init__()
            self.normalize = tf.keras.layers.Normalization(axis=-1)
            self.normalize.adapt(feature_sample.reshape(-1, n_features))
            self.anime_embedding = tf.keras.layers.Embedding(
                n_anime,
                max(config.embedding_dim, 1),
                embeddings_initializer=tf.keras.initializers.RandomNormal(
                    stddev=0.01, seed=config.seed
                ),
            )
            layers = [
                tf.keras.layers.Dense(
                    units,
                    activation="relu",
                    kernel_initializer=tf.keras.initializers.GlorotUniform(seed=config.seed + i),
                )
                for i, units in enumerate(config.hidden_units)
            ]
            layers.append(tf.keras.layers.Dense(1, kernel_initializer="zeros"))
            self.scorer = tf.keras.Sequential(layers)
            # the retrieval order is a strong start: score = a * prior + MLP(...), with the MLP
            # starting at zero, so training refines the candidate order rather than relearning it
            self.prior_weight = tf.Variable(1.0, name="prior_weight")
            self.prior_bias = tf.Variable(0.0, name="prior_bias")
            self.task = tfrs.tasks.Ranking(
                loss=tf.keras.losses.MeanSquaredError()
                if loss == "mse"
                else list_mle_loss_class()()
            )

        def call(self, inputs: dict[str, Any]) -> Any:
            dense = self.normalize(inputs["features"])
            if config.embedding_dim > 0:
                dense_and_id = tf.concat([dense, self.anime_embedding(inputs["anime"])], axis=-1)
            else:
                dense_and_id = dense
            learned = tf.squeeze(self.scorer(dense_and_id), axis=-1)
            prior = dense[..., prior_feature]
            return self.prior_weight * prior + self.prior_bias + learned

        def compute_loss(self, inputs: dict[str, Any], training: bool = False) -> Any:
            predictions = self(inputs)
            labels = inputs["label"]
            if loss == "mse":
                valid = labels >= 0.0
                return self.task(
                    labels=tf.boolean_mask(labels, valid),
                    predictions=tf.boolean_mask(predictions, valid),
                    compute_metrics=False,
                )
            return self.task(labels=labels, predictions=predictions, compute_metrics=False)

    return CandidateRanker()


@dataclass
class TrainedRanker:
    loss: RankingLoss
    config: RankingConfig
    model: Any

    def score(self, anime: np.ndarray, features: np.ndarray, block: int = 256) -> np.ndarray:
        """Scores for [lists, candidates] anime indices and [lists, candidates, F] features."""
        tf, _ = import_tf()
        out = np.empty(anime.shape, dtype=np.float32)
        for start in range(0, len(anime), block):
            stop = start + block
            out[start:stop] = self.model(
                {
                    "anime": tf.constant(np.maximum(anime[start:stop], 0), dtype=tf.int32),
                    "features": tf.constant(features[start:stop], dtype=tf.float32),
                }
            ).numpy()
        out[anime < 0] = -np.inf
        return out


def train_ranker(
    anime: np.ndarray,
    features: np.ndarray,
    labels: np.ndarray,
    n_anime: int,
    loss: RankingLoss,
    config: RankingConfig | None = None,
    verbose: int = 0,
    prior_feature: int = 0,
) -> TrainedRanker:
    """Fit a ranker on candidate lists: anime [L, K], features [L, K, F], labels [L, K].

    ``labels`` holds the score the user gave (0 = candidate not rated, -1 = padding).
    """
    config = config or RankingConfig()
    if anime.shape != labels.shape or features.shape[:2] != anime.shape:
        raise ValueError(
            f"shapes disagree: anime {anime.shape}, labels {labels.shape}, "
            f"features {features.shape}"
        )
    tf, _ = import_tf()
    seed_everything(config.seed)
    valid = anime >= 0
    model = build_ranking_model(
        n_anime, features.shape[2], loss, config, features[valid], prior_feature
    )
    model.compile(optimizer=tf.keras.optimizers.Adam(learning_rate=config.learning_rate))
    inputs = {
        "anime": np.maximum(anime, 0).astype(np.int32),
        "features": features.astype(np.float32),
        "label": np.where(valid, labels, -1.0).astype(np.float32),
    }
    dataset = (
        tf.data.Dataset.from_tensor_slices(inputs)
        .shuffle(len(anime), seed=config.seed)
        .batch(config.lists_per_batch)
    )
    model.fit(dataset, epochs=config.epochs, verbose=verbose)
    return TrainedRanker(loss, config, model)
