"""User -> anime: a TFRS two-tower retrieval model on (user, positive anime) pairs.

The user tower adds a user-id embedding to the mean embedding of the user's training positives
(their "history"). The history part lets users with few interactions borrow from the anime
they liked; during training the target anime is masked out of its own history, otherwise the
model would learn to find the answer in the question. The anime tower is an id embedding.
Trained with in-batch softmax (``tfrs.tasks.Retrieval``) with a log-frequency correction, so
popular anime are not over-recommended just because they fill every batch.

The optimizer is Adagrad, as in the TFRS tutorials, for a reason that shows at scale: its sparse
update touches only the embedding rows of the batch, while Keras' Adam decays its moments over
every row of every table on every step (with 1M users, most of a step's time).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import sparse

from animerec_assets.lib.ml.tf_env import import_tf, seed_everything


@dataclass(frozen=True)
class RetrievalConfig:
    embedding_dim: int = 64
    history_length: int = 256
    epochs: int = 12
    batch_size: int = 2048
    learning_rate: float = 0.1
    optimizer: str = "adagrad"  # or "adam" (dense moment updates: slow with many users)
    temperature: float = 0.1
    frequency_correction: bool = True
    use_history: bool = True
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def history_matrix(positives: sparse.csr_matrix, length: int, seed: int) -> np.ndarray:
    """Each user's positives as a padded [users, length] id matrix (pad = n_items).

    Users with more than ``length`` positives keep a random (seeded) subset. Vectorized: a
    random key per non-zero, a sort within rows, and a scatter into the padded matrix.
    """
    n_users, n_items = positives.shape
    coo = positives.tocoo()
    rng = np.random.default_rng(seed)
    order = np.lexsort((rng.random(coo.nnz), coo.row))
    rows, cols = coo.row[order], coo.col[order]
    starts = np.searchsorted(rows, rows, side="left")
    slot = np.arange(len(rows)) - starts
    keep = slot < length
    out = np.full((n_users, length), n_items, dtype=np.int32)
    out[rows[keep], slot[keep]] = cols[keep]
    return out


def _init(tf: Any, seed: int) -> Any:
    return tf.keras.initializers.RandomNormal(stddev=0.05, seed=seed)


def build_retrieval_model(
    n_users: int, n_anime: int, histories: np.ndarray, item_frequency: np.ndarray, config: Any
) -> Any:
    """A ``tfrs.Model`` with ``user_vectors``/``anime_vectors`` towers and a retrieval task."""
    tf, tfrs = import_tf()
    dim = config.embedding_dim
    pad = n_anime

    # A lazily imported base class: typed Any, as TensorFlow ships no stubs.
    tfrs_model: Any = tfrs.Model

    class UserAnimeRetrieval(tfrs_model):
        def __init__(self) -> None:
            super().__init__()
            self.user_embedding = tf.keras.layers.Embedding(
                n_users, dim, embeddings_initializer=_init(tf, config.seed + 1)
            )
            self.history_embedding = tf.keras.layers.Embedding(
                n_anime + 1, dim, embeddings_initializer=_init(tf, config.seed + 2)
            )
            self.anime_embedding = tf.keras.layers.Embedding(
                n_anime, dim, embeddings_initializer=_init(tf, config.seed + 3)
            )
            self.histories = tf.constant(histories, dtype=tf.int32)
            self.log_frequency = tf.constant(
                np.log(np.maximum(item_frequency, 1.0) / max(item_frequency.sum(), 1.0)),
                dtype=tf.float32,
            )
            self.task = tfrs.tasks.Retrieval(temperature=config.temperature)

        def user_vectors(self, users: Any, exclude: Any = None) -> Any:
            """User-id embedding + mean of history embeddings (``exclude`` masked out).

            History sums are computed once per distinct user in the batch (a batch holds many
            pairs of the same user), then the excluded anime's share is subtracted per pair.
            """
            distinct, position = tf.unique(users)
            history = tf.gather(self.histories, distinct)
            mask = tf.cast(tf.not_equal(history, pad), tf.float32)
            summed = tf.reduce_sum(self.history_embedding(history) * mask[..., None], axis=1)
            summed = tf.gather(summed, position)
            count = tf.gather(tf.reduce_sum(mask, axis=1), position)
            if exclude is not None:
                in_history = tf.reduce_any(
                    tf.equal(tf.gather(self.histories, users), exclude[:, None]), axis=1
                )
                in_history = tf.cast(in_history, tf.float32)
                summed -= self.history_embedding(exclude) * in_history[:, None]
                count -= in_history
            mean = summed / tf.maximum(count, 1.0)[:, None]
            if not config.use_history:
                mean = tf.zeros_like(mean)
            return self.user_embedding(users) + mean

        def anime_vectors(self, anime: Any) -> Any:
            return self.anime_embedding(anime)

        def compute_loss(self, features: dict[str, Any], training: bool = False) -> Any:
            users, anime = features["user"], features["anime"]
            probability = (
                tf.exp(tf.gather(self.log_frequency, anime))
                if config.frequency_correction
                else None
            )
            return self.task(
                self.user_vectors(users, exclude=anime),
                self.anime_vectors(anime),
                candidate_sampling_probability=probability,
                candidate_ids=anime,
                compute_metrics=False,
            )

    return UserAnimeRetrieval()


@dataclass
class TrainedRetrieval:
    """A trained two-tower model reduced to what batch inference needs: two vector tables."""

    user_vectors: np.ndarray  # [n_users, dim]
    anime_vectors: np.ndarray  # [n_anime, dim]
    config: RetrievalConfig
    model: Any = None  # the Keras model, kept for saving weights

    def score(self, users: np.ndarray) -> np.ndarray:
        return self.user_vectors[users] @ self.anime_vectors.T


def shuffled_batches(tf: Any, pairs: sparse.coo_matrix, batch_size: int, rng: Any) -> Any:
    """One epoch of (user, anime) pairs, shuffled and cut into batches by NumPy, so tf.data
    only ever handles whole batches (per-pair tf.data work costs more than the model)."""
    order = rng.permutation(pairs.nnz)
    users, anime = pairs.row[order].astype(np.int32), pairs.col[order].astype(np.int32)
    full = len(order) // batch_size * batch_size
    parts = [
        tf.data.Dataset.from_tensor_slices(
            {
                "user": users[:full].reshape(-1, batch_size),
                "anime": anime[:full].reshape(-1, batch_size),
            }
        )
    ]
    if full < len(order):
        parts.append(tf.data.Dataset.from_tensors({"user": users[full:], "anime": anime[full:]}))
    dataset = parts[0] if len(parts) == 1 else parts[0].concatenate(parts[1])
    return dataset.prefetch(4)


def make_optimizer(tf: Any, config: RetrievalConfig) -> Any:
    if config.optimizer == "adagrad":
        return tf.keras.optimizers.Adagrad(learning_rate=config.learning_rate)
    if config.optimizer == "adam":
        return tf.keras.optimizers.Adam(learning_rate=config.learning_rate)
    raise ValueError(f"unknown optimizer {config.optimizer!r}: use 'adagrad' or 'adam'")


def train_retrieval(
    positives: sparse.csr_matrix, config: RetrievalConfig | None = None, verbose: int = 0
) -> TrainedRetrieval:
    """Fit the retrieval model on every (user, positive anime) pair of ``positives``."""
    config = config or RetrievalConfig()
    tf, _ = import_tf()
    seed_everything(config.seed)
    n_users, n_anime = positives.shape
    coo = positives.tocoo()
    if coo.nnz == 0:
        raise ValueError("no positive (user, anime) pairs to train the retrieval model on")
    histories = history_matrix(positives, config.history_length, config.seed)
    frequency = np.asarray(positives.sum(axis=0), dtype=np.float64).ravel()
    model = build_retrieval_model(n_users, n_anime, histories, frequency, config)
    model.compile(optimizer=make_optimizer(tf, config), steps_per_execution=16)
    rng = np.random.default_rng(config.seed)
    for _ in range(config.epochs):
        model.fit(shuffled_batches(tf, coo, config.batch_size, rng), epochs=1, verbose=verbose)
    user_vectors = np.concatenate(
        [
            model.user_vectors(
                tf.constant(np.arange(s, min(s + 4096, n_users), dtype=np.int32))
            ).numpy()
            for s in range(0, n_users, 4096)
        ]
    )
    anime_vectors = model.anime_embedding.embeddings.numpy()
    return TrainedRetrieval(user_vectors, anime_vectors, config, model)
