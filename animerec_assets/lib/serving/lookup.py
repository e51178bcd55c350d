"""Read the serving store: what the app (and anything else) calls, with no Dagster or CLI.

Every read goes through one Lua script that resolves ``current`` and reads the versioned keys in
the same atomic step, so a read always sees one complete version, even during a publish; a
user's recommendations, their own MAL list and the cards the recommendations name come back in
that one round trip. Redis failures surface as ``ServingUnavailableError``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import redis

from animerec_assets.lib.serving.keys import (
    ANIME_SUFFIX,
    META_SUFFIX,
    TITLE_SEPARATOR,
    TITLES_SUFFIX,
    KeyLayout,
    list_suffix,
    normalize_title,
    similar_suffix,
    user_key_of,
    user_suffix,
)
from animerec_assets.lib.serving.payloads import unpack_user_list

SEARCH_CANDIDATES = 200
RANK_FUSION_K = 10.0

# KEYS: current ; ARGV: version root, op, op arguments. Resolve the version and read in one step.
_READ = """
local v = redis.call('GET', KEYS[1])
if not v then return false end
local ns = ARGV[1] .. v
local op = ARGV[2]
local res
if op == 'GET' then
  res = redis.call('GET', ns .. ARGV[3])
elseif op == 'MGET' then
  local keys = {}
  for i = 3, #ARGV do keys[#keys + 1] = ns .. ARGV[i] end
  res = redis.call('MGET', unpack(keys))
elseif op == 'HGETALL' then
  res = redis.call('HGETALL', ns .. ARGV[3])
elseif op == 'ZRANGEBYLEX' then
  res = redis.call('ZRANGEBYLEX', ns .. ARGV[3], ARGV[4], ARGV[5], 'LIMIT', 0, ARGV[6])
elseif op == 'WITH_CARDS' or op == 'USER' then
  -- a ranked list plus the cards of the anime it names, in one round trip:
  -- ARGV[3] list key suffix, ARGV[4] max rows, ARGV[5] '1' to fetch the cards,
  -- ARGV[6] the user's packed-list key suffix (op USER only), then the row positions of ids
  local payload = redis.call('GET', ns .. ARGV[3])
  local first = 6
  local packed = false
  if op == 'USER' then
    first = 7
    packed = redis.call('GET', ns .. ARGV[6])
  end
  if not payload then return {v, false, {}, {}, packed} end
  local ids = {}
  local cards = {}
  if ARGV[5] == '1' then
    local rows = cjson.decode(payload)
    for i = 1, math.min(#rows, tonumber(ARGV[4])) do
      for j = first, #ARGV do
        local id = rows[i][tonumber(ARGV[j])]
        if id ~= nil and id ~= cjson.null then ids[#ids + 1] = string.format('%d', id) end
      end
    end
    if #ids > 0 then cards = redis.call('HMGET', ns .. ':anime', unpack(ids)) end
  end
  return {v, payload, ids, cards, packed}
else
  return redis.error_reply('unknown read op ' .. op)
end
return {v, res or false}
"""


class ServingUnavailableError(RuntimeError):
    """The serving Redis cannot be read right now."""


@dataclass(frozen=True)
class AnimeCard:
    anime_id: int
    title: str
    main_pic: str | None = None
    type: str | None = None
    score: float | None = None
    genres: tuple[str, ...] = ()
    members: int | None = None
    status: str | None = None  # MAL airing status, e.g. "Not yet aired"
    start_date: str | None = None  # YYYY-MM-DD
    rating: str | None = None  # MAL age rating, e.g. "Rx - Hentai" (None until crawled)
    franchise_id: int | None = None
    franchise_order: int | None = None
    prequel_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class Recommendation:
    rank: int
    anime_id: int
    score: float
    reason: str | None = None
    reason_anime_id: int | None = None
    anime: AnimeCard | None = None
    reason_anime: AnimeCard | None = None


@dataclass(frozen=True)
class SimilarAnime:
    rank: int
    anime_id: int
    score: float
    anime: AnimeCard | None = None


@dataclass(frozen=True)
class Freshness:
    version: str
    model_version: str
    published_at: str
    counts: dict[str, int] = field(default_factory=dict)


def _text(value: bytes | str | None) -> str | None:
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else value


def _layout(prefix: str | None) -> KeyLayout:
    return KeyLayout(prefix) if prefix else KeyLayout()


def _read_reply(
    client: redis.Redis, layout: KeyLayout, op: str, *args: str | bytes | int
) -> list | None:
    try:
        script = client.register_script(_READ)  # EVALSHA, loading the script on first use
        return script(keys=[layout.current], args=[layout.version_root, op, *args])
    except redis.RedisError as error:
        raise ServingUnavailableError(f"cannot read the serving store: {error}") from error


def _read(
    client: redis.Redis, layout: KeyLayout, op: str, *args: str | bytes | int
) -> tuple[str, Any]:
    """(version, result) of one versioned read; ("", None) when nothing is published.

    The result's shape is the Redis reply of ``op`` (a flat list for HGETALL and MGET), so it is
    typed ``Any`` and each caller unpacks the shape it asked for.
    """
    reply = _read_reply(client, layout, op, *args)
    if not reply:
        return "", None
    version, result = reply
    return _text(version) or "", result


def _read_with_cards(
    client: redis.Redis, layout: KeyLayout, suffix: str, limit: int, id_positions: tuple[int, ...]
) -> tuple[list, dict[int, AnimeCard]]:
    """A ranked list (JSON rows) and the cards of the anime in it, in one round trip."""
    reply = _read_reply(client, layout, "WITH_CARDS", suffix, limit, "1", *id_positions)
    if not reply or len(reply) < 4 or not reply[1]:
        return [], {}
    _, payload, ids, payloads = reply[:4]
    cards = (card_from_json(int(a), p) for a, p in zip(ids, payloads, strict=True))
    return json.loads(payload)[:limit], {c.anime_id: c for c in cards if c is not None}


def card_from_json(anime_id: int, payload: bytes | str | None) -> AnimeCard | None:
    if payload is None:
        return None
    data = json.loads(payload)
    members = data.get("members")
    franchise_id = data.get("franchise_id")
    franchise_order = data.get("franchise_order")
    return AnimeCard(
        anime_id=int(anime_id),
        title=str(data.get("title") or ""),
        main_pic=data.get("main_pic"),
        type=data.get("type"),
        score=data.get("score"),
        genres=tuple(data.get("genres") or ()),
        members=int(members) if members is not None else None,
        status=data.get("status"),
        start_date=data.get("start_date"),
        rating=data.get("rating"),
        franchise_id=int(franchise_id) if franchise_id is not None else None,
        franchise_order=int(franchise_order) if franchise_order is not None else None,
        prequel_ids=tuple(int(p) for p in data.get("prequels") or ()),
    )


def get_cards(
    client: redis.Redis, anime_ids: Iterable[int], *, version: str, prefix: str | None = None
) -> dict[int, AnimeCard]:
    """Card details of some anime in one version (missing ids are left out)."""
    ids = list(dict.fromkeys(int(a) for a in anime_ids))
    if not ids or not version:
        return {}
    layout = _layout(prefix)
    try:
        payloads = client.hmget(layout.namespace(version) + ANIME_SUFFIX, [str(a) for a in ids])
    except redis.RedisError as error:
        raise ServingUnavailableError(f"cannot read the serving store: {error}") from error
    cards = (card_from_json(a, p) for a, p in zip(ids, payloads, strict=True))
    return {card.anime_id: card for card in cards if card is not None}


def get_catalogue(
    client: redis.Redis, prefix: str | None = None
) -> tuple[str, dict[int, AnimeCard]]:
    """(live version, every card of it) in one atomic read, for read-time filters.

    Tens of thousands of small cards (a few MB): a server reads them once per version and
    keeps them, rather than once per request.
    """
    version, raw = _read(client, _layout(prefix), "HGETALL", ANIME_SUFFIX)
    if not version or not raw:
        return version, {}
    pairs = list(raw)
    cards = (
        card_from_json(int(_text(k) or 0), v) for k, v in zip(pairs[0::2], pairs[1::2], strict=True)
    )
    return version, {card.anime_id: card for card in cards if card is not None}


def get_anime(client: redis.Redis, anime_id: int, prefix: str | None = None) -> AnimeCard | None:
    """The card of one anime in the live version."""
    version = current_version(client, prefix)
    return get_cards(client, [anime_id], version=version, prefix=prefix).get(int(anime_id))


def current_version(client: redis.Redis, prefix: str | None = None) -> str:
    """The live version id, or "" when nothing is published."""
    try:
        return _text(client.get(_layout(prefix).current)) or ""
    except redis.RedisError as error:
        raise ServingUnavailableError(f"cannot read the serving store: {error}") from error


def get_freshness(client: redis.Redis, prefix: str | None = None) -> Freshness | None:
    """Which model version is live and when it was published; None before the first publish."""
    version, raw = _read(client, _layout(prefix), "HGETALL", META_SUFFIX)
    if not version or not raw:
        return None
    pairs = list(raw)
    meta = {_text(k) or "": _text(v) or "" for k, v in zip(pairs[0::2], pairs[1::2], strict=True)}
    counts = {k[2:]: int(v) for k, v in meta.items() if k.startswith("n_") and v.isdigit()}
    return Freshness(
        version=version,
        model_version=meta.get("model_version", ""),
        published_at=meta.get("published_at", ""),
        counts=counts,
    )


def get_recommendations(
    client: redis.Redis, user: str, prefix: str | None = None
) -> list[Recommendation]:
    """The user's published top recommendations, best first ([] if the user has none).

    ``user`` is a MAL username (any case) or numeric id; anything else raises
    ``InvalidKeyError`` before it reaches Redis.
    """
    user_key = user_key_of(user)
    rows, cards = _read_with_cards(client, _layout(prefix), user_suffix(user_key), 1000, (1, 4))
    return _recommendations(rows, cards)


@dataclass(frozen=True)
class UserView:
    """One version's view of a user: their ranked recommendations and their own MAL list."""

    version: str
    recommendations: list[Recommendation]
    user_list: dict[int, str] | None  # anime id -> MAL status; None: not published for them


def get_user_view(
    client: redis.Redis, user: str, prefix: str | None = None, *, with_cards: bool = True
) -> UserView:
    """The user's published recommendations and MAL list, from one version in one round trip.

    ``with_cards=False`` leaves the cards out (a caller holding the version's catalogue, like
    the API, saves Redis reading and sending a hundred cards per request). ``user`` is
    validated as in ``get_recommendations``.
    """
    user_key = user_key_of(user)
    reply = _read_reply(
        client,
        _layout(prefix),
        "USER",
        user_suffix(user_key),
        1000,
        "1" if with_cards else "0",
        list_suffix(user_key),
        1,
        4,
    )
    if not reply:
        return UserView("", [], None)
    version, payload, ids, payloads, packed = [*reply, None, None, None, None][:5]
    cards = (card_from_json(int(a), p) for a, p in zip(ids or [], payloads or [], strict=True))
    by_id = {c.anime_id: c for c in cards if c is not None}
    rows = json.loads(payload) if payload else []
    user_list = None
    if packed:
        try:
            user_list = unpack_user_list(packed)
        except ValueError:
            user_list = None  # a damaged value: the filters fall back to the published list alone
    return UserView(_text(version) or "", _recommendations(rows, by_id), user_list)


def _recommendations(rows: list, cards: dict[int, AnimeCard]) -> list[Recommendation]:
    return [
        Recommendation(
            rank=position,
            anime_id=int(anime_id),
            score=float(score),
            reason=reason,
            reason_anime_id=int(reason_id) if reason_id is not None else None,
            anime=cards.get(int(anime_id)),
            reason_anime=cards.get(int(reason_id)) if reason_id is not None else None,
        )
        for position, (anime_id, score, reason, reason_id) in enumerate(rows, start=1)
    ]


def get_similar(
    client: redis.Redis, anime_id: int, limit: int = 20, prefix: str | None = None
) -> list[SimilarAnime]:
    """The ranked neighbours of one anime ([] if it has none)."""
    suffix = similar_suffix(int(anime_id))
    rows, cards = _read_with_cards(client, _layout(prefix), suffix, int(limit), (1,))
    return [
        SimilarAnime(rank=position, anime_id=int(b), score=float(s), anime=cards.get(int(b)))
        for position, (b, s) in enumerate(rows, start=1)
    ]


def _title_candidates(members: Iterable[bytes | str]) -> list[int]:
    ids: list[int] = []
    for member in members:
        text = _text(member) or ""
        _, _, anime_id = text.rpartition(TITLE_SEPARATOR)
        if anime_id.isdigit():
            ids.append(int(anime_id))
    return list(dict.fromkeys(ids))


def rank_search_results(query: str, cards: Iterable[AnimeCard], limit: int) -> list[AnimeCard]:
    """Exact titles first, then titles that start with the query, then the most popular."""
    wanted = normalize_title(query)

    def order(card: AnimeCard) -> tuple:
        title = normalize_title(card.title)
        return (
            title != wanted,
            not title.startswith(wanted),
            -(card.members or 0),
            -(card.score or 0.0),
            title,
        )

    return sorted(cards, key=order)[:limit]


def search_titles(
    client: redis.Redis, query: str, limit: int = 10, prefix: str | None = None
) -> list[AnimeCard]:
    """Anime whose title has a word starting with ``query`` (case and accents ignored)."""
    wanted = normalize_title(query)
    if len(wanted) < 2:
        return []
    start = b"[" + wanted.encode()
    stop = start + b"\xff"
    layout = _layout(prefix)
    version, members = _read(
        client, layout, "ZRANGEBYLEX", TITLES_SUFFIX, start, stop, SEARCH_CANDIDATES
    )
    if not members:
        return []
    ids = _title_candidates(members)
    cards = get_cards(client, ids, version=version, prefix=prefix)
    return rank_search_results(query, cards.values(), limit)


def blend_similar_lists(
    lists: dict[int, list[tuple[int, float]]], limit: int = 20
) -> list[tuple[int, float, int]]:
    """Reciprocal-rank fusion of several anime's neighbour lists.

    Returns (anime_id, fused score, the liked anime that contributed most), best first,
    leaving out the liked anime themselves.
    """
    liked = set(lists)
    fused: dict[int, float] = {}
    best_source: dict[int, tuple[float, int]] = {}
    for source, neighbours in lists.items():
        for position, (anime_id, _score) in enumerate(neighbours, start=1):
            if anime_id in liked:
                continue
            share = 1.0 / (RANK_FUSION_K + position)
            fused[anime_id] = fused.get(anime_id, 0.0) + share
            if share > best_source.get(anime_id, (0.0, 0))[0]:
                best_source[anime_id] = (share, source)
    ranked = sorted(fused.items(), key=lambda item: (-item[1], item[0]))[:limit]
    return [(anime_id, score, best_source[anime_id][1]) for anime_id, score in ranked]


def recommend_from_anime(
    client: redis.Redis, anime_ids: Iterable[int], limit: int = 20, prefix: str | None = None
) -> list[Recommendation]:
    """Recommendations for someone we know nothing about yet but the anime they name."""
    liked = list(dict.fromkeys(int(a) for a in anime_ids))
    if not liked:
        return []
    layout = _layout(prefix)
    version, payloads = _read(client, layout, "MGET", *(similar_suffix(a) for a in liked))
    if not payloads:
        return []
    lists = {
        anime_id: [(int(b), float(s)) for b, s in json.loads(payload)]
        for anime_id, payload in zip(liked, payloads, strict=True)
        if payload
    }
    blended = blend_similar_lists(lists, limit)
    cards = get_cards(client, [a for a, _, _ in blended] + liked, version=version, prefix=prefix)
    return [
        Recommendation(
            rank=position,
            anime_id=anime_id,
            score=score,
            reason=None,
            reason_anime_id=source,
            anime=cards.get(anime_id),
            reason_anime=cards.get(source),
        )
        for position, (anime_id, score, source) in enumerate(blended, start=1)
    ]
