"""What decides a world: its parameters, their validation, and the world's present.

Apart from the generators and the ``World`` tables so that both the whole-world builder
(``world.generate_world``) and the chunked landing writer (``landing``) resolve parameters
the same way, without importing each other.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from mal_replica import vocab

DAY = 86_400


class WorldError(ValueError):
    """Parameters that cannot describe a world."""


@dataclass(frozen=True)
class WorldParams:
    """Everything that decides a world; two equal params give identical worlds."""

    n_users: int = 2000
    n_anime: int = 1000
    seed: int = 0
    n_groups: int = 12
    mean_list_size: float = 60.0
    list_size_sigma: float = 0.9
    max_list_size: int = 3000
    popularity_exponent: float = 0.9
    popular_share: float = 0.22
    secondary_share: float = 0.18
    empty_list_share: float = 0.02
    # users whose lists outgrow load.json's 300-row page (0: none beyond the lognormal tail)
    long_list_share: float = 0.0
    unscored_share: float = 0.15
    favorites_share: float = 0.45
    mean_friends: float = 4.0
    friend_homophily: float = 0.75
    reviewer_share: float = 0.08
    # anime MAL rates "Rx - Hentai" (what a recommender keeps out by default)
    adult_share: float = 0.06
    recommendations_per_anime: float = 4.0
    history_days: int = 21
    now: str = "2025-06-01T00:00:00"

    def validate(self) -> None:
        if self.n_users < 1 or self.n_anime < 2:
            raise WorldError("a world needs at least 1 user and 2 anime")
        if not 1 <= self.n_groups <= len(vocab.TASTE_ARCHETYPES) * 8:
            raise WorldError(f"n_groups must be in 1..{len(vocab.TASTE_ARCHETYPES) * 8}")
        if self.popular_share + self.secondary_share >= 1.0:
            raise WorldError("popular_share + secondary_share must stay below 1")
        for name in (
            "popular_share",
            "secondary_share",
            "empty_list_share",
            "unscored_share",
            "long_list_share",
            "adult_share",
        ):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise WorldError(f"{name} must be within [0, 1], got {value}")
        if self.mean_list_size <= 0:
            raise WorldError("mean_list_size must be positive")
        parse_now(self.now)

    @property
    def now_ts(self) -> int:
        return parse_now(self.now)


def parse_now(text: str) -> int:
    """The world's present as unix seconds (naive strings are UTC)."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as error:
        raise WorldError(f"now must be an ISO-8601 timestamp, got {text!r}") from error
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def resolve_params(
    n_users: int, n_anime: int, seed: int, overrides: dict[str, object]
) -> WorldParams:
    """Validated params; ``n_groups`` is capped at ``n_anime`` (every group needs an anime)."""
    params = WorldParams(n_users=n_users, n_anime=n_anime, seed=seed, **overrides)  # type: ignore[arg-type]
    params.validate()
    if params.n_groups > params.n_anime:
        params = WorldParams(**{**asdict(params), "n_groups": params.n_anime})
    return params


@dataclass(frozen=True)
class EvolveParams:
    """How much the world changes in one round (``evolve.evolve``); rates are per round.

    Row rates apply to each existing row (a list entry, a friendship...); ``*_share`` to each
    user; counts of new things scale with the world's size, at least one each.
    """

    step_days: float = 1.0  # how far the world's ``now`` moves
    list_add_share: float = 0.15  # users who add 1-4 entries
    rescore_rate: float = 0.04
    drop_rate: float = 0.02  # watching / on hold entries dropped
    remove_rate: float = 0.03  # entries removed from lists
    favorites_change_share: float = 0.08  # users whose favorites are picked anew
    friendship_end_rate: float = 0.06
    new_friendships_per_user: float = 0.05
    new_anime_share: float = 0.02  # of the catalogue: new titles that start airing
    relation_end_rate: float = 0.02
    recommendation_end_rate: float = 0.06
    new_recommendations_per_anime: float = 0.05
    private_rate: float = 0.015  # users whose list turns private (for good)
    delete_user_rate: float = 0.01  # users deleted (their profile answers 404)
    delete_anime_rate: float = 0.005  # anime removed from the database (404)

    def validate(self) -> None:
        for name, value in asdict(self).items():
            if value < 0 or (name.endswith(("_rate", "_share")) and value > 1):
                raise WorldError(f"{name} must be within [0, 1] (or >= 0), got {value}")
