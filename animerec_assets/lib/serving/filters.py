"""Read-time filters over a user's published recommendations: one pure module for app and API.

The published list (``payloads.prepare_user_payloads``) is the model's ranking of anime not on
the user's MAL list — the best 100 — plus the best of the user's own plan-to-watch titles, which
the model ranks like any other candidate (its candidate step leaves only them in). The user's
whole list is published beside it (``lookup.get_user_view``: anime id -> status), and these
filters narrow the ranking per request: everything on the list is left out, plan-to-watch
titles too unless ``include_plan_to_watch``; what has aired, types, excluded genres, adult
titles, a popularity floor, hidden titles, and franchise order (a sequel only once its prequel
is completed on the list; else the franchise's first entry the user has not listed takes its
place), at most one title per franchise.

A version published without lists (``user_list`` None) is still served: a sequel is then in
order unless an earlier entry of its prequel chain is among the candidates (that entry is
certainly not on the user's list), and a replacement entry must be among the candidates.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from animerec_assets.lib.serving.lookup import AnimeCard, Recommendation

COMPLETED = "completed"
PLAN_TO_WATCH = "plan_to_watch"
NOT_YET_AIRED = "not yet aired"
ADULT_RATING_PREFIX = "rx"  # MAL's "Rx - Hentai"
ADULT_GENRES = frozenset({"hentai", "erotica"})  # the signal for an anime without a rating
MAX_EXCLUDED_IDS = 500
MAX_CHOICES = 50  # types or genres a request may name
MAX_CHAIN_WALK = 200  # prequel entries followed back from one sequel


@dataclass(frozen=True)
class Filters:
    """What a visitor asks for; the defaults are what a MAL user expects unasked."""

    include_plan_to_watch: bool = False
    include_upcoming: bool = False
    types: frozenset[str] = frozenset()  # empty: every type
    exclude_genres: frozenset[str] = frozenset()
    include_adult: bool = False
    min_members: int = 0
    franchise_order: bool = True
    one_per_franchise: bool = True
    exclude_ids: frozenset[int] = frozenset()

    def __post_init__(self) -> None:
        if len(self.exclude_ids) > MAX_EXCLUDED_IDS:
            raise ValueError(f"at most {MAX_EXCLUDED_IDS} hidden titles")
        if len(self.types) > MAX_CHOICES or len(self.exclude_genres) > MAX_CHOICES:
            raise ValueError(f"at most {MAX_CHOICES} types or genres")
        if self.min_members < 0:
            raise ValueError("min_members must not be negative")
        # compare case-insensitively
        object.__setattr__(self, "types", frozenset(t.strip().lower() for t in self.types))
        object.__setattr__(
            self, "exclude_genres", frozenset(g.strip().lower() for g in self.exclude_genres)
        )


@dataclass(frozen=True)
class Catalogue:
    """Every published card of one version and each franchise's entries in watch order."""

    version: str
    cards: Mapping[int, AnimeCard]
    franchise_entries: Mapping[int, tuple[int, ...]] = field(default_factory=dict)

    @classmethod
    def of(cls, version: str, cards: Mapping[int, AnimeCard]) -> Catalogue:
        grouped: dict[int, list[tuple[int, int]]] = {}
        for card in cards.values():
            if card.franchise_id is not None:
                order = card.franchise_order if card.franchise_order is not None else 1 << 30
                grouped.setdefault(card.franchise_id, []).append((order, card.anime_id))
        entries = {fid: tuple(a for _, a in sorted(members)) for fid, members in grouped.items()}
        return cls(version=version, cards=dict(cards), franchise_entries=entries)


def is_adult(card: AnimeCard) -> bool:
    """MAL's "Rx - Hentai" rating, or (rating unknown) a Hentai/Erotica genre."""
    if card.rating:
        return card.rating.strip().lower().startswith(ADULT_RATING_PREFIX)
    return any(genre.lower() in ADULT_GENRES for genre in card.genres)


def has_aired(card: AnimeCard, today: date) -> bool:
    """Aired or airing; an anime with neither status nor start date counts as aired."""
    if card.status:
        return card.status.strip().lower() != NOT_YET_AIRED
    if card.start_date:
        try:
            return date.fromisoformat(card.start_date[:10]) <= today
        except ValueError:
            return True
    return True


def passes_card_filters(
    card: AnimeCard,
    filters: Filters,
    today: date,
    user_list: Mapping[int, str] | None,
) -> bool:
    """Every filter that looks at one card alone (not franchise order or duplicates)."""
    if card.anime_id in filters.exclude_ids:
        return False
    status = user_list.get(card.anime_id) if user_list is not None else None
    if status is not None and not (filters.include_plan_to_watch and status == PLAN_TO_WATCH):
        return False
    if not filters.include_upcoming and not has_aired(card, today):
        return False
    if filters.types and (card.type or "").lower() not in filters.types:
        return False
    if filters.exclude_genres and any(g.lower() in filters.exclude_genres for g in card.genres):
        return False
    if not filters.include_adult and is_adult(card):
        return False
    return not (filters.min_members and (card.members or 0) < filters.min_members)


def prequel_ancestors(card: AnimeCard, catalogue: Catalogue) -> set[int]:
    """Every entry before ``card`` on its prequel chain (bounded walk: data may hold cycles)."""
    found: set[int] = set()
    frontier = list(card.prequel_ids)
    while frontier and len(found) < MAX_CHAIN_WALK:
        anime_id = frontier.pop()
        if anime_id in found or anime_id == card.anime_id:
            continue
        found.add(anime_id)
        prequel = catalogue.cards.get(anime_id)
        if prequel is not None:
            frontier.extend(prequel.prequel_ids)
    return found


def _prequels_completed(
    card: AnimeCard,
    catalogue: Catalogue,
    user_list: Mapping[int, str] | None,
    candidate_ids: set[int],
) -> bool:
    if not card.prequel_ids:
        return True
    if user_list is not None:
        return all(user_list.get(p) == COMPLETED for p in card.prequel_ids)
    # without the list: an earlier entry among the candidates is certainly not watched
    return not (prequel_ancestors(card, catalogue) & candidate_ids)


def apply_filters(
    recommendations: Sequence[Recommendation],
    catalogue: Catalogue,
    filters: Filters,
    *,
    today: date,
    user_list: Mapping[int, str] | None = None,
) -> list[Recommendation]:
    """The recommendations that pass ``filters``, best first, ranks renumbered from 1, each
    with its cards (taken from ``catalogue`` when the recommendations were read without)."""
    candidate_ids = {r.anime_id for r in recommendations}
    kept: list[Recommendation] = []
    seen_anime: set[int] = set()
    seen_franchises: set[int] = set()

    def acceptable(card: AnimeCard) -> bool:
        return passes_card_filters(card, filters, today, user_list)

    def in_order(card: AnimeCard) -> bool:
        return _prequels_completed(card, catalogue, user_list, candidate_ids)

    for rec in recommendations:
        card = catalogue.cards.get(rec.anime_id) or rec.anime
        if card is None:
            continue
        if rec.anime is None or (rec.reason_anime is None and rec.reason_anime_id is not None):
            # read without cards (the caller holds the catalogue): the cards come from it
            reason = rec.reason_anime
            if reason is None and rec.reason_anime_id is not None:
                reason = catalogue.cards.get(rec.reason_anime_id)
            rec = dataclasses.replace(rec, anime=card, reason_anime=reason)
        chosen = rec if acceptable(card) else None
        if filters.franchise_order and not in_order(card):
            chosen = _first_unwatched(
                rec, card, catalogue, acceptable, in_order, user_list, candidate_ids
            )
        if chosen is None or chosen.anime_id in seen_anime:
            continue
        franchise = (chosen.anime or card).franchise_id
        if filters.one_per_franchise and franchise is not None:
            if franchise in seen_franchises:
                continue
            seen_franchises.add(franchise)
        seen_anime.add(chosen.anime_id)
        kept.append(dataclasses.replace(chosen, rank=len(kept) + 1))
    return kept


def _first_unwatched(
    rec: Recommendation,
    card: AnimeCard,
    catalogue: Catalogue,
    acceptable: Callable[[AnimeCard], bool],
    in_order: Callable[[AnimeCard], bool],
    user_list: Mapping[int, str] | None,
    candidate_ids: set[int],
) -> Recommendation | None:
    """The franchise's first entry the user can start with, in the place of ``rec``."""
    if card.franchise_id is None:
        return None
    for anime_id in catalogue.franchise_entries.get(card.franchise_id, ()):
        entry = catalogue.cards.get(anime_id)
        if entry is None or not acceptable(entry) or not in_order(entry):
            continue
        if user_list is None and anime_id not in candidate_ids:
            continue  # might be on the user's list: the published list cannot tell
        return dataclasses.replace(
            rec,
            anime_id=anime_id,
            anime=entry,
            reason=f"Watch this before {card.title}",
            reason_anime_id=card.anime_id,
            reason_anime=card,
        )
    return None


def parse_ids(values: Iterable[str]) -> frozenset[int]:
    """Hidden-title ids from a query (``exclude=1,2&exclude=3``); anything else is refused."""
    ids: set[int] = set()
    for value in values:
        for part in value.split(","):
            part = part.strip()
            if not part:
                continue
            if not part.isdigit() or len(part) > 12:
                raise ValueError(f"not an anime id: {part[:20]!r}")
            ids.add(int(part))
    if len(ids) > MAX_EXCLUDED_IDS:
        raise ValueError(f"at most {MAX_EXCLUDED_IDS} hidden titles")
    return frozenset(ids)
