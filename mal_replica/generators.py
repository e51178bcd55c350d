"""The world's components, one public generator each: anime, users, lists, and the rest.

Generated with NumPy on whole arrays (no per-user Python loops), so the same model that builds
a 2,000-user test world in well under a second builds a million-user world in minutes. The
world is deterministic for a seed: every component draws from its own child generator of one
``SeedSequence``, so changing one component's parameters does not reshuffle the others.

Taste is latent and learnable: each anime belongs to one taste group (its core genres come
from the group), each user watches mostly inside a dominant and a secondary group plus a share
of globally popular titles (Zipf-like popularity), and scores rise where taste matches. Every
aggregate MAL displays (per-status counts, score histograms, members, favorites, ranks, a
user's num_* and mean score) is computed from the generated rows, so pages are consistent.

Both ``world.generate_world`` (the whole world at once) and ``landing.write_world_landing``
(users in chunks, for worlds that do not fit in memory) call these, so a world that fits in
one chunk is the same row for row either way.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mal_replica import vocab
from mal_replica.params import DAY, WorldParams, parse_now

# Component streams of the world's SeedSequence; appending new names keeps old worlds stable.
STREAMS = (
    "anime",
    "franchise",
    "users",
    "lists",
    "favorites",
    "history",
    "friends",
    "reviews",
    "recommendations",
    "clubs",
    "pictures",
    "names",
    "ratings",
)
# MAL's list status codes 0..6 (5 unused) x scores 0..10: one counter cell per anime.
STATUS_CODES = 7
SCORES = 11
LONG_LIST_MIN = 300  # load.json's page size: a "long" list needs more than one page


def component_rngs(seed: int | list[int]) -> dict[str, np.random.Generator]:
    """One generator per world component, each spawned from one ``SeedSequence(seed)``."""
    sequences = np.random.SeedSequence(seed).spawn(len(STREAMS))
    return {name: np.random.default_rng(seq) for name, seq in zip(STREAMS, sequences, strict=True)}


# --------------------------------------------------------------------------------------------
# small vectorized helpers


def _group_offsets(sorted_keys: np.ndarray, n_keys: int) -> np.ndarray:
    """CSR offsets: rows of key k are ``[offsets[k], offsets[k + 1])`` in a key-sorted array."""
    return np.searchsorted(sorted_keys, np.arange(n_keys + 1), side="left")


def _rank_within(keys_sorted: np.ndarray) -> np.ndarray:
    """0-based position of each row inside its run of equal keys (keys already sorted)."""
    n = len(keys_sorted)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.r_[True, keys_sorted[1:] != keys_sorted[:-1]]
    run_start = np.maximum.accumulate(np.where(starts, np.arange(n), 0))
    return np.arange(n) - run_start


class _GroupSampler:
    """Draw items in proportion to weight, restricted to a group, for many draws at once.

    One global cumulative sum over group-sorted items; a draw for group g is a searchsorted
    into g's slice of it, so all groups are sampled in a single vectorized call.
    """

    def __init__(self, item_group: np.ndarray, weight: np.ndarray, n_groups: int) -> None:
        self.order = np.argsort(item_group, kind="stable")
        sorted_groups = item_group[self.order]
        self.starts = np.searchsorted(sorted_groups, np.arange(n_groups), side="left")
        self.ends = np.searchsorted(sorted_groups, np.arange(n_groups), side="right")
        self.cum = np.cumsum(weight[self.order].astype(np.float64))
        padded = np.r_[0.0, self.cum]
        self.base = padded[self.starts]
        self.total = padded[self.ends] - self.base

    def has_items(self, groups: np.ndarray) -> np.ndarray:
        return self.ends[groups] > self.starts[groups]

    def sample(self, rng: np.random.Generator, groups: np.ndarray) -> np.ndarray:
        target = self.base[groups] + rng.random(len(groups)) * self.total[groups]
        pos = np.searchsorted(self.cum, target, side="right")
        pos = np.clip(pos, self.starts[groups], np.maximum(self.ends[groups] - 1, 0))
        return self.order[pos]


def _unique_sorted(keys: np.ndarray, return_counts: bool = False):
    """Sorted distinct keys (and their multiplicities), by sort + diff.

    NumPy 2.4's hash-based ``np.unique`` is several times slower on tens of millions of int64
    keys than one sort, which matters for million-user worlds.
    """
    ordered = np.sort(keys)
    first = np.r_[True, ordered[1:] != ordered[:-1]] if len(ordered) else np.zeros(0, bool)
    distinct = ordered[first]
    if not return_counts:
        return distinct
    starts = np.nonzero(first)[0]
    return distinct, np.diff(np.r_[starts, len(ordered)])


def _sparse_ids(rng: np.random.Generator, n: int, first: int, max_gap: int) -> np.ndarray:
    """Increasing unique ids with random gaps, like MAL's (deleted entries leave holes)."""
    return first + np.cumsum(rng.integers(1, max_gap + 1, size=n)) - 1


def _choice_strings(rng: np.random.Generator, words: tuple[str, ...], size: int) -> np.ndarray:
    return np.asarray(words, dtype=object)[rng.integers(0, len(words), size=size)]


# --------------------------------------------------------------------------------------------
# anime


def rate_adult_anime(anime: pd.DataFrame, share: float, rng: np.random.Generator) -> None:
    """MAL's "Rx - Hentai" on about ``share`` of the catalogue, drawn from the ``ratings``
    stream so every other draw of a seed's world stays what it was."""
    adult = rng.random(len(anime)) < share
    anime.loc[adult, "rating"] = vocab.ADULT_RATING


def generate_anime(params: WorldParams, rng: np.random.Generator) -> pd.DataFrame:
    """The catalogue: ids, taste group, popularity, quality, type, dates, genres, studios.

    Titles come later (``add_titles``), once franchises are known.
    """
    n, k = params.n_anime, params.n_groups
    now = params.now_ts
    anime_id = _sparse_ids(rng, n, first=1, max_gap=5)

    group_share = rng.dirichlet(np.full(k, 4.0))
    group = rng.choice(k, size=n, p=group_share)
    group[: min(k, n)] = np.arange(min(k, n))  # no empty group

    popularity_rank = rng.permutation(n)
    popularity_weight = 1.0 / np.power(popularity_rank + 8.0, params.popularity_exponent)
    quality = np.clip(rng.normal(6.9, 0.75, size=n) + 0.35 * (popularity_rank < n * 0.1), 3.0, 9.3)

    type_index = rng.choice(len(vocab.TYPES), size=n, p=np.asarray(vocab.TYPE_PROBS))
    types = np.asarray(vocab.TYPES, dtype=object)[type_index]
    tv_eps = np.asarray([12, 12, 13, 24, 25, 26, 10, 11, 22, 50, 51, 64, 100])
    episodes = np.select(
        [types == "TV", types == "Movie", types == "OVA", types == "ONA", types == "Special"],
        [
            tv_eps[rng.integers(0, len(tv_eps), n)],
            np.ones(n, dtype=np.int64),
            rng.integers(1, 7, n),
            rng.integers(1, 25, n),
            rng.integers(1, 4, n),
        ],
        default=1,
    ).astype(np.int64)
    minutes = np.select(
        [types == "TV", types == "Movie", types == "OVA", types == "ONA", types == "Special"],
        [
            rng.integers(22, 26, n),
            rng.integers(70, 131, n),
            rng.integers(20, 31, n),
            rng.integers(3, 25, n),
            rng.integers(5, 25, n),
        ],
        default=rng.integers(3, 6, n),
    ).astype(np.int64)

    # start dates skew recent; about 3% announced for the future
    years_back = np.minimum(rng.exponential(11.0, n), 60.0)
    start = now - (years_back * 365.25 * DAY).astype(np.int64)
    future = rng.random(n) < 0.03
    start = np.where(future, now + rng.integers(20, 400, n) * DAY, start)
    start = (start // DAY) * DAY
    # weekly broadcasts for series, monthly releases for OVAs and specials
    step_days = np.select(
        [np.isin(types, ["TV", "ONA"]), np.isin(types, ["OVA", "Special"])], [7, 30], 0
    )
    span_days = ((np.maximum(episodes, 1) - 1) * step_days).astype(np.int64)
    end = start + span_days * DAY
    airing = (start <= now) & (end > now)
    airing_status = np.where(future, 2, np.where(airing, 1, 0))
    # an airing show's final episode count is often not announced yet (MAL shows "Unknown")
    episodes = np.where(airing & (rng.random(n) < 0.5), 0, episodes)

    source = np.asarray(vocab.SOURCES, dtype=object)[
        rng.choice(len(vocab.SOURCES), size=n, p=np.asarray(vocab.SOURCE_PROBS))
    ]
    rating = np.asarray(vocab.RATINGS, dtype=object)[rng.integers(0, len(vocab.RATINGS), n)]

    # genres: the group's core tags (rotated archetypes beyond the first 16) + random extras
    genre_names = [name for _, name, _ in vocab.GENRES]
    archetypes = [
        vocab.TASTE_ARCHETYPES[g % len(vocab.TASTE_ARCHETYPES)] for g in range(params.n_groups)
    ]
    extra = rng.integers(0, len(genre_names), size=(n, 2))
    extra_on = rng.random((n, 2)) < np.asarray([0.45, 0.15])
    core_keep = rng.random((n, 4)) < 0.85
    genres: list[list[str]] = []
    for i in range(n):  # n_anime is at most tens of thousands: cheap, and lists are ragged
        core = [t for t, keep in zip(archetypes[group[i]], core_keep[i], strict=False) if keep]
        core = core or [archetypes[group[i]][0]]
        extras = [genre_names[e] for e, on in zip(extra[i], extra_on[i], strict=True) if on]
        demo = [t for t in core + extras if vocab.GENRES[vocab.GENRE_INDEX[t]][2] == "Demographic"]
        others = [t for t in dict.fromkeys(core + extras) if t not in demo]
        genres.append(others + demo[:1])

    studio_a = rng.integers(0, len(vocab.STUDIOS), n)
    studio_b = rng.integers(0, len(vocab.STUDIOS), n)
    two = (rng.random(n) < 0.15) & (studio_a != studio_b)
    studio_names = np.asarray([name for _, name in vocab.STUDIOS], dtype=object)
    studios = [
        [studio_names[a], studio_names[b]] if t else [studio_names[a]]
        for a, b, t in zip(studio_a, studio_b, two, strict=True)
    ]
    studios = [
        s if rng_flag else [] for s, rng_flag in zip(studios, rng.random(n) > 0.02, strict=True)
    ]

    return pd.DataFrame(
        {
            "anime_id": anime_id.astype(np.int64),
            "group": group.astype(np.int32),
            "popularity_weight": popularity_weight,
            "quality": quality,
            "type": types,
            "source": source,
            "num_episodes": episodes,
            "minutes_per_episode": minutes,
            "airing_status": airing_status.astype(np.int8),
            "start_ts": start,
            "end_ts": np.where(airing | future, -1, end),
            "rating": rating,
            "genres": genres,
            "studios": studios,
        }
    )


def add_titles(anime: pd.DataFrame, franchise_root: np.ndarray, rng: np.random.Generator) -> None:
    """Japanese-sounding titles; franchise members share their root's title plus a suffix."""
    n = len(anime)
    syl = np.asarray(vocab.TITLE_SYLLABLES, dtype=object)
    parts = syl[rng.integers(0, len(syl), size=(n, 6))]
    first = parts[:, 0] + parts[:, 1] + np.where(rng.random(n) < 0.5, parts[:, 2], "")
    second = parts[:, 3] + parts[:, 4] + np.where(rng.random(n) < 0.3, parts[:, 5], "")
    word = _choice_strings(rng, vocab.TITLE_WORDS, n)
    shape = rng.integers(0, 3, n)
    base = np.where(
        shape == 0,
        np.char.capitalize(first.astype(str)).astype(object) + " " + word,
        np.where(
            shape == 1,
            np.char.capitalize(first.astype(str)).astype(object)
            + " no "
            + np.char.capitalize(second.astype(str)).astype(object),
            np.char.capitalize(first.astype(str)).astype(object),
        ),
    )
    title = base.copy()
    member = franchise_root != np.arange(n)
    types = anime["type"].to_numpy()
    suffix = np.empty(n, dtype=object)
    for kind, options in vocab.FRANCHISE_SUFFIXES.items():
        mask = types == kind
        suffix[mask] = _choice_strings(rng, options, int(mask.sum()))
    title[member] = base[franchise_root[member]] + ": " + suffix[member]
    # MAL disambiguates equal titles with the year, e.g. "Hunter x Hunter (2011)"
    year = pd.to_datetime(anime["start_ts"], unit="s").dt.year.to_numpy()
    series = pd.Series(title)
    dup = series.duplicated(keep="first").to_numpy()
    title[dup] = title[dup] + " (" + year[dup].astype(str).astype(object) + ")"
    series = pd.Series(title)
    dup = series.duplicated(keep="first").to_numpy()
    title[dup] = title[dup] + " " + anime["anime_id"].to_numpy()[dup].astype(str).astype(object)
    anime["title"] = title
    anime["title_english"] = np.where(rng.random(n) < 0.4, None, title)
    anime["slug"] = [vocab.slugify(t) for t in title]


def generate_franchises(
    params: WorldParams, anime: pd.DataFrame, rng: np.random.Generator
) -> tuple[np.ndarray, pd.DataFrame]:
    """Group some anime into franchises and link them with symmetrical relations."""
    n = len(anime)
    n_franchises = max(1, int(n * 0.12))
    in_franchise = rng.random(n) < 0.35
    franchise = np.where(in_franchise, rng.integers(0, n_franchises, n), -1)
    order = np.lexsort((anime["start_ts"].to_numpy(), franchise))
    fr_sorted = franchise[order]
    valid = fr_sorted >= 0
    order, fr_sorted = order[valid], fr_sorted[valid]
    rank = _rank_within(fr_sorted)
    run_start = np.arange(len(order)) - rank
    root_sorted = order[run_start]
    franchise_root = np.arange(n)
    franchise_root[order] = root_sorted
    # members share the root's taste group
    group = anime["group"].to_numpy().copy()
    group[order] = group[root_sorted]
    anime["group"] = group

    child = rank > 0
    j = order[child]
    prev = order[np.nonzero(child)[0] - 1]
    root = root_sorted[child]
    types = anime["type"].to_numpy()
    tj, tp = types[j], types[prev]
    roll = rng.random(len(j))
    serial = np.isin(tj, ["TV", "ONA"]) & np.isin(tp, ["TV", "ONA"])
    relation = np.select(
        [
            roll < 0.07,
            serial,
            (tj == "Movie") & (roll < 0.55),
            (tj == "Special") & (roll < 0.35),
            tj == "Music",
            tj == "ONA",
        ],
        ["Alternative Version", "Sequel", "Sequel", "Summary", "Other", "Spin-Off"],
        default="Side Story",
    ).astype(object)
    # a sequel follows its predecessor; other relations hang off the franchise root
    source = np.where(relation == "Sequel", prev, root)
    forward = pd.DataFrame({"a": source, "b": j, "relation_type": relation})
    inverse = forward["relation_type"].map(vocab.RELATION_INVERSE)
    backward = pd.DataFrame({"a": j, "b": source, "relation_type": inverse})
    relations = pd.concat([forward, backward], ignore_index=True)
    relations = relations[relations["a"] != relations["b"]]
    relations = relations.drop_duplicates(["a", "b"]).sort_values(["a", "b"], kind="stable")
    relations = relations.astype({"a": np.int32, "b": np.int32}).reset_index(drop=True)
    return franchise_root, relations


# --------------------------------------------------------------------------------------------
# users


def generate_users(
    params: WorldParams, rng: np.random.Generator, names_rng: np.random.Generator
) -> pd.DataFrame:
    """Users with a dominant and a secondary taste group, a score bias and their dates.

    Names draw from ``names_rng``, the stream titles draw from first: call after ``add_titles``.
    """
    n, k, now = params.n_users, params.n_groups, params.now_ts
    user_id = _sparse_ids(rng, n, first=1, max_gap=40)
    share = rng.dirichlet(np.full(k, 4.0))
    dominant = rng.choice(k, size=n, p=share)
    secondary = (dominant + rng.integers(1, max(k, 2), n)) % max(k, 1)
    # share of a user's non-popular picks that come from the dominant group
    non_popular = 1.0 - params.popular_share
    dominant_share = np.clip(
        1.0 - params.secondary_share / non_popular * rng.uniform(0.5, 1.5, n), 0.3, 1.0
    )
    first_day = parse_now("2005-01-01T00:00:00")
    join = rng.integers(first_day, now - 30 * DAY, n)
    active = rng.random(n) < 0.35
    last_online = np.where(
        active,
        now - rng.integers(60, 14 * DAY, n),
        join + (rng.beta(4.0, 1.3, n) * (now - join)).astype(np.int64),
    )
    return pd.DataFrame(
        {
            "user_id": user_id.astype(np.int64),
            "username": _usernames(names_rng, n),
            "group": dominant.astype(np.int32),
            "secondary_group": secondary.astype(np.int32),
            "dominant_share": dominant_share,
            "bias": rng.normal(0.0, 0.7, n),
            "join_ts": join,
            "last_online_ts": last_online,
            "gender": np.asarray(["", "Male", "Female", "Non-Binary"], dtype=object)[
                rng.choice(4, n, p=[0.5, 0.3, 0.18, 0.02])
            ],
        }
    )


def _usernames(rng: np.random.Generator, n: int) -> np.ndarray:
    """Unique MAL-valid usernames: 2-16 chars of letters, digits, '_' and '-'."""
    words = np.asarray(vocab.USER_WORDS, dtype=object)
    a = words[rng.integers(0, len(words), n)]
    b = words[rng.integers(0, len(words), n)]
    sep = np.asarray(["", "_", "-", ""], dtype=object)[rng.integers(0, 4, n)]
    digits = rng.integers(0, 10_000, n).astype(str).astype(object)
    style = rng.integers(0, 4, n)
    cap_a = np.asarray(np.char.capitalize(a.astype(str)), dtype=object)
    name = np.select(
        [style == 0, style == 1, style == 2],
        [a + sep + b, cap_a + digits, a + sep + b + digits],
        default=cap_a + sep + b,
    ).astype(object)
    name = np.asarray(name.astype("U16"))  # numpy truncates to 16 characters
    dup = pd.Series(name).str.lower().duplicated(keep="first").to_numpy()
    # disambiguate with the row number: unique by construction, at most 9 + 1 + 6 chars
    rows = np.nonzero(dup)[0].astype(str)
    name[dup] = np.char.add(np.char.add(name[dup].astype("U9"), "_"), rows)
    return name.astype(object)


# --------------------------------------------------------------------------------------------
# anime lists


def _long_lists(
    params: WorldParams, size: np.ndarray, n_anime: int, rng: np.random.Generator
) -> np.ndarray:
    """Some users draw lists well past load.json's 300-row page (repeats are dropped later)."""
    cap = min(params.max_list_size, int(n_anime * 0.95))
    if cap <= LONG_LIST_MIN:
        return size
    long = rng.random(len(size)) < params.long_list_share
    size = size.copy()
    size[long] = rng.integers(3 * LONG_LIST_MIN, 4 * cap + 1, int(long.sum()))
    return size


def generate_lists(
    params: WorldParams, anime: pd.DataFrame, users: pd.DataFrame, rng: np.random.Generator
) -> pd.DataFrame:
    """List rows sorted by (user, anime): mostly the user's taste groups plus popular titles.

    Status, score, progress and dates agree with the anime's airing and the user's dates.
    """
    n_users, n_anime, k = len(users), len(anime), params.n_groups
    now = params.now_ts
    mu = np.log(params.mean_list_size) - params.list_size_sigma**2 / 2
    size = np.round(rng.lognormal(mu, params.list_size_sigma, n_users)).astype(np.int64)
    size = np.clip(size, 1, min(params.max_list_size, max(1, int(n_anime * 0.6))))
    size[rng.random(n_users) < params.empty_list_share] = 0
    if params.long_list_share > 0:  # drawn only when asked for: other worlds stay as they were
        size = _long_lists(params, size, n_anime, rng)

    user = np.repeat(np.arange(n_users, dtype=np.int64), size)
    e = len(user)
    airing_status = anime["airing_status"].to_numpy()
    weight = anime["popularity_weight"].to_numpy() * np.where(airing_status == 2, 0.3, 1.0)
    item_group = anime["group"].to_numpy()
    by_group = _GroupSampler(item_group, weight, k)
    overall = _GroupSampler(np.zeros(n_anime, dtype=np.int64), weight, 1)

    roll = rng.random(e)
    dom_share = users["dominant_share"].to_numpy()[user]
    dominant = users["group"].to_numpy()[user]
    secondary = users["secondary_group"].to_numpy()[user]
    from_popular = roll < params.popular_share
    group = np.where(roll < params.popular_share + dom_share * (1 - params.popular_share),
                     dominant, secondary)  # fmt: skip
    item = np.where(
        from_popular,
        overall.sample(rng, np.zeros(e, dtype=np.int64)),
        by_group.sample(rng, group),
    )
    keys = _unique_sorted(user * n_anime + item)  # drop repeats; sorted by (user, anime)
    user = (keys // n_anime).astype(np.int64)
    item = (keys % n_anime).astype(np.int64)
    e = len(keys)

    # status: MAL codes 1 watching, 2 completed, 3 on hold, 4 dropped, 6 plan to watch
    status = rng.choice(
        np.asarray([2, 6, 1, 3, 4]), size=e, p=np.asarray([0.62, 0.18, 0.07, 0.06, 0.07])
    )
    a_status = airing_status[item]
    a_start = anime["start_ts"].to_numpy()[item]
    join = users["join_ts"].to_numpy()[user]
    last = users["last_online_ts"].to_numpy()[user]
    not_started_for_user = (a_status == 2) | (a_start > last)
    status = np.where(not_started_for_user, 6, status)
    status = np.where((a_status == 1) & (status == 2), 1, status)

    # scores: item quality + user bias + taste match + noise; dropping hurts
    match = np.where(
        item_group[item] == users["group"].to_numpy()[user],
        0.8,
        np.where(item_group[item] == users["secondary_group"].to_numpy()[user], 0.4, -0.2),
    )
    raw = (
        anime["quality"].to_numpy()[item]
        + users["bias"].to_numpy()[user]
        + match
        + rng.normal(0.0, 0.9, e)
        - 2.0 * (status == 4)
    )
    score = np.clip(np.round(raw), 1, 10).astype(np.int64)
    unscored = (status == 6) | (rng.random(e) < params.unscored_share)
    score = np.where(unscored, 0, score)

    episodes = anime["num_episodes"].to_numpy()[item]
    partial = np.where(
        episodes > 0,
        np.floor(rng.random(e) * episodes),
        rng.integers(1, 25, e),
    ).astype(np.int64)
    progress = np.select([status == 2, status == 6], [episodes, 0], default=partial)

    low = np.maximum(join, np.where(status == 6, join, a_start))
    low = np.minimum(low, last)
    updated = low + (rng.random(e) * (last - low)).astype(np.int64)
    updated = np.minimum(updated, now)
    created = np.maximum(join, updated - (rng.exponential(120.0, e) * DAY).astype(np.int64))
    rewatching = (status == 1) & (rng.random(e) < 0.02)

    return pd.DataFrame(
        {
            "user": user.astype(np.int32),
            "anime": item.astype(np.int32),
            "status": status.astype(np.int8),
            "score": score.astype(np.int8),
            "progress": progress.astype(np.int32),
            "updated_ts": updated.astype(np.int64),
            "created_ts": created.astype(np.int64),
            "is_rewatching": rewatching,
        }
    )


def generate_favorites(
    params: WorldParams, lists: pd.DataFrame, n_users: int, rng: np.random.Generator
) -> pd.DataFrame:
    """Up to 10 favorites (MAL's cap) among a user's best-scored completed anime."""
    cap = np.where(rng.random(n_users) < params.favorites_share, rng.integers(1, 11, n_users), 0)
    candidates = lists[(lists["status"].to_numpy() == 2) & (lists["score"].to_numpy() >= 8)]
    user = candidates["user"].to_numpy()
    order = np.lexsort((rng.random(len(candidates)), -candidates["score"].to_numpy(), user))
    user_sorted = user[order]
    rank = _rank_within(user_sorted)
    keep = rank < cap[user_sorted]
    rows = candidates.iloc[order[keep]]
    return pd.DataFrame(
        {
            "user": rows["user"].to_numpy(),
            "anime": rows["anime"].to_numpy(),
            "rank": rank[keep].astype(np.int16),
        }
    ).reset_index(drop=True)


def generate_history(
    params: WorldParams, lists: pd.DataFrame, rng: np.random.Generator
) -> pd.DataFrame:
    """Episode-by-episode history for entries updated in the last ``history_days`` days."""
    now = params.now_ts
    recent = (
        (lists["updated_ts"].to_numpy() >= now - params.history_days * DAY)
        & np.isin(lists["status"].to_numpy(), [1, 2])
        & (lists["progress"].to_numpy() > 0)
    )
    rows = lists[recent]
    progress = rows["progress"].to_numpy().astype(np.int64)
    count = np.minimum(progress, 1 + rng.poisson(1.5, len(rows)))
    idx = np.repeat(np.arange(len(rows)), count)
    back = _rank_within(idx)  # 0 for the latest episode
    episode = progress[idx] - back
    gap = (rng.random(len(idx)) * 6 * 3600).astype(np.int64) + 1200
    watched = rows["updated_ts"].to_numpy()[idx] - back * gap
    history = pd.DataFrame(
        {
            "user": rows["user"].to_numpy()[idx],
            "anime": rows["anime"].to_numpy()[idx],
            "episode": episode.astype(np.int32),
            "watched_ts": watched,
        }
    )
    return history.sort_values(["user", "watched_ts"], ascending=[True, False]).reset_index(
        drop=True
    )


def generate_friendships(
    params: WorldParams, users: pd.DataFrame, rng: np.random.Generator
) -> pd.DataFrame:
    """Undirected friendships, mostly inside a taste group (homophily)."""
    n = len(users)
    if n < 2:
        return pd.DataFrame({"a": [], "b": [], "since_ts": []}).astype(
            {"a": np.int32, "b": np.int32, "since_ts": np.int64}
        )
    wants = np.where(rng.random(n) < 0.3, 0, rng.poisson(params.mean_friends, n))
    a = np.repeat(np.arange(n), wants)
    group = users["group"].to_numpy()
    by_group = np.argsort(group, kind="stable")
    offsets = _group_offsets(group[by_group], params.n_groups)
    g = group[a]
    lo, hi = offsets[g], offsets[g + 1]
    same = by_group[lo + (rng.random(len(a)) * (hi - lo)).astype(np.int64)]
    anyone = rng.integers(0, n, len(a))
    b = np.where(rng.random(len(a)) < params.friend_homophily, same, anyone)
    lo_u, hi_u = np.minimum(a, b), np.maximum(a, b)
    keys = _unique_sorted(lo_u[lo_u != hi_u] * n + hi_u[lo_u != hi_u])
    a, b = keys // n, keys % n
    join, last = users["join_ts"].to_numpy(), users["last_online_ts"].to_numpy()
    start = np.maximum(join[a], join[b])
    end = np.maximum(np.minimum(last[a], last[b]), start)
    since = start + (rng.random(len(a)) * (end - start)).astype(np.int64)
    return pd.DataFrame(
        {"a": a.astype(np.int32), "b": b.astype(np.int32), "since_ts": since.astype(np.int64)}
    )


def generate_reviews(
    params: WorldParams, lists: pd.DataFrame, n_users: int, rng: np.random.Generator
) -> pd.DataFrame:
    """Reviews by a ``reviewer_share`` of users, of their scored watched entries."""
    now = params.now_ts
    eligible = lists[
        np.isin(lists["status"].to_numpy(), [1, 2, 4]) & (lists["score"].to_numpy() > 0)
    ]
    reviewer = rng.random(n_users) < params.reviewer_share
    eligible = eligible[reviewer[eligible["user"].to_numpy()]]
    want = 1 + rng.poisson(1.2, n_users)
    user = eligible["user"].to_numpy()
    order = np.lexsort((rng.random(len(eligible)), user))
    rank = _rank_within(user[order])
    rows = eligible.iloc[order[rank < want[user[order]]]].sort_values(["anime", "user"])
    m = len(rows)
    score = rows["score"].to_numpy().astype(np.int64)

    def sub_score() -> np.ndarray:
        return np.clip(score + np.round(rng.normal(0, 1.0, m)), 1, 10).astype(np.int8)

    date = np.minimum(rows["updated_ts"].to_numpy() + rng.integers(0, 30 * DAY, m), now)
    reactions = np.floor(np.exp(rng.normal(1.6, 1.5, m))).astype(np.int64)
    status = rows["status"].to_numpy()
    tag = np.select([score >= 7, score >= 5], ["recommended", "mixed-feelings"], "not-recommended")
    return pd.DataFrame(
        {
            "review_id": _sparse_ids(rng, m, first=1000, max_gap=50).astype(np.int64),
            "user": rows["user"].to_numpy(),
            "anime": rows["anime"].to_numpy(),
            "review_ts": date,
            "reactions": reactions,
            "score": score.astype(np.int8),
            "story_score": sub_score(),
            "animation_score": sub_score(),
            "sound_score": sub_score(),
            "character_score": sub_score(),
            "enjoyment_score": sub_score(),
            "tag": tag.astype(object),
            "preliminary": status == 1,
            "episodes_watched": rows["progress"].to_numpy(),
            "text_seed": rng.integers(0, 2**31, m),
        }
    ).reset_index(drop=True)


def generate_recommendations(
    params: WorldParams, anime: pd.DataFrame, users: pd.DataFrame, rng: np.random.Generator
) -> pd.DataFrame:
    """User recommendations as undirected pairs (MAL shows each pair on both anime's pages)."""
    n, k = len(anime), params.n_groups
    draws = int(n * params.recommendations_per_anime)
    weight = anime["popularity_weight"].to_numpy()
    item_group = anime["group"].to_numpy()
    overall = _GroupSampler(np.zeros(n, dtype=np.int64), weight, 1)
    by_group = _GroupSampler(item_group, weight, k)
    a = overall.sample(rng, np.zeros(draws, dtype=np.int64))
    same = rng.random(draws) < 0.85
    b = np.where(
        same, by_group.sample(rng, item_group[a]), overall.sample(rng, np.zeros(draws, np.int64))
    )
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    keys, counts = _unique_sorted(lo[lo != hi] * n + hi[lo != hi], return_counts=True)
    a, b = keys // n, keys % n
    m = len(keys)
    recommenders = counts + np.floor(rng.pareto(1.6, m) * 1.5).astype(np.int64)
    recommenders = np.minimum(recommenders, 500)
    user_group = users["group"].to_numpy()
    by_user_group = np.argsort(user_group, kind="stable")
    offsets = _group_offsets(user_group[by_user_group], k)
    g = item_group[a]
    lo_o, hi_o = offsets[g], offsets[g + 1]
    in_group = by_user_group[np.minimum(lo_o + (rng.random(m) * (hi_o - lo_o)).astype(np.int64),
                                        len(users) - 1)]  # fmt: skip
    first = np.where(hi_o > lo_o, in_group, rng.integers(0, len(users), m))
    return pd.DataFrame(
        {
            "a": a.astype(np.int32),
            "b": b.astype(np.int32),
            "num_recommenders": recommenders.astype(np.int32),
            "first_recommender": first.astype(np.int32),
            "recommendation_id": _sparse_ids(rng, m, first=100, max_gap=30).astype(np.int64),
        }
    )


def generate_clubs(
    params: WorldParams, anime: pd.DataFrame, users: pd.DataFrame, rng: np.random.Generator
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Clubs themed on a taste group: (clubs, club_anime, club_members)."""
    n_users, k = len(users), params.n_groups
    n_clubs = int(np.clip(n_users // 100, 8, 20_000))
    club_group = rng.integers(0, k, n_clubs)
    item_group = anime["group"].to_numpy()
    sampler = _GroupSampler(item_group, anime["popularity_weight"].to_numpy(), k)
    per_club = rng.integers(2, 7, n_clubs)
    club_of = np.repeat(np.arange(n_clubs), per_club)
    has = sampler.has_items(club_group[club_of])
    picked = np.where(
        has, sampler.sample(rng, club_group[club_of]), rng.integers(0, len(anime), len(club_of))
    )
    keys = _unique_sorted(club_of * len(anime) + picked)
    club_anime = pd.DataFrame(
        {
            "club": (keys // len(anime)).astype(np.int32),
            "anime": (keys % len(anime)).astype(np.int32),
        }
    )
    lead = np.full(n_clubs, -1)
    lead[club_anime["club"].to_numpy()[::-1]] = club_anime["anime"].to_numpy()[::-1]
    titles = anime["title"].to_numpy()
    archetypes = [vocab.TASTE_ARCHETYPES[g % len(vocab.TASTE_ARCHETYPES)] for g in range(k)]
    pattern = rng.integers(0, len(vocab.CLUB_PATTERNS), n_clubs)
    use_title = rng.random(n_clubs) < 0.6
    names = []
    for c in range(n_clubs):  # at most 20k clubs, ragged string formatting
        tag = titles[lead[c]] if use_title[c] and lead[c] >= 0 else archetypes[club_group[c]][0]
        names.append(vocab.CLUB_PATTERNS[pattern[c]].format(tag=tag))
    names_arr = np.asarray(names, dtype=object)
    club_id = _sparse_ids(rng, n_clubs, first=1, max_gap=60)
    dup = pd.Series(names_arr).duplicated().to_numpy()
    names_arr[dup] = names_arr[dup] + " " + club_id[dup].astype(str).astype(object)

    joins = np.where(rng.random(n_users) < 0.4, rng.integers(1, 4, n_users), 0)
    member = np.repeat(np.arange(n_users), joins)
    by_group = np.argsort(club_group, kind="stable")
    offsets = _group_offsets(club_group[by_group], k)
    g = users["group"].to_numpy()[member]
    lo, hi = offsets[g], offsets[g + 1]
    in_group = by_group[
        np.minimum(lo + (rng.random(len(member)) * (hi - lo)).astype(np.int64), n_clubs - 1)
    ]
    club = np.where(
        (hi > lo) & (rng.random(len(member)) < 0.8), in_group, rng.integers(0, n_clubs, len(member))
    )
    keys = _unique_sorted(member * n_clubs + club)
    club_members = pd.DataFrame(
        {"user": (keys // n_clubs).astype(np.int32), "club": (keys % n_clubs).astype(np.int32)}
    )
    clubs = pd.DataFrame(
        {
            "club_id": club_id.astype(np.int64),
            "name": names_arr,
            "group": club_group.astype(np.int32),
            "members_count": np.bincount(club_members["club"], minlength=n_clubs).astype(np.int64),
        }
    )
    return clubs, club_anime, club_members


def generate_pictures(anime: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """One to eight pictures per anime, with CDN-shaped ids and buckets."""
    n = len(anime)
    count = np.minimum(1 + rng.poisson(1.5, n), 8)
    owner = np.repeat(np.arange(n), count)
    pic_id = _sparse_ids(rng, len(owner), first=10_000, max_gap=40)
    return pd.DataFrame(
        {
            "anime": owner.astype(np.int32),
            "pic_id": pic_id.astype(np.int64),
            "bucket": (1 + pic_id % 19).astype(np.int32),
        }
    )


# --------------------------------------------------------------------------------------------
# aggregates MAL displays, computed from the rows


def list_counters(lists: pd.DataFrame, n_anime: int) -> np.ndarray:
    """Per-anime [status, score] counts of list rows, shape (n_anime, 7, 11).

    Every anime aggregate derives from these, and they add up across chunks of users.
    """
    item = lists["anime"].to_numpy().astype(np.int64)
    cell = (item * STATUS_CODES + lists["status"].to_numpy()) * SCORES + lists["score"].to_numpy()
    counts = np.bincount(cell, minlength=n_anime * STATUS_CODES * SCORES)
    return counts.reshape(n_anime, STATUS_CODES, SCORES)


def anime_statistics(anime: pd.DataFrame, counts: np.ndarray, favorites: np.ndarray) -> None:
    """Add the aggregates MAL displays to ``anime``, from ``list_counters`` and favorite counts.

    Ranks by score only titles that aired and were scored; popularity ranks everyone by
    members, the anime id breaking ties.
    """
    n = len(anime)
    for code, name in vocab.STATUS_NAMES.items():
        anime[f"{name}_count"] = counts[:, code, :].sum(axis=1).astype(np.int64)
    anime["total_count"] = counts.sum(axis=(1, 2)).astype(np.int64)
    anime["members_count"] = anime["total_count"]
    histogram = counts.sum(axis=1)
    for s in range(10, 0, -1):
        anime[f"score_{s:02d}_count"] = histogram[:, s].astype(np.int64)
    score_count = histogram[:, 1:].sum(axis=1)
    total = (histogram * np.arange(SCORES)).sum(axis=1)
    mean = np.where(score_count > 0, np.round(total / np.maximum(score_count, 1), 2), np.nan)
    anime["score"] = mean
    anime["score_count"] = score_count.astype(np.int64)
    anime["favorites_count"] = favorites.astype(np.int64)
    ids = anime["anime_id"].to_numpy()
    rankable = (score_count > 0) & (anime["airing_status"].to_numpy() != 2)
    order = np.lexsort((ids, -score_count, -np.nan_to_num(mean)))
    order = order[rankable[order]]
    score_rank = np.full(n, -1, dtype=np.int64)
    score_rank[order] = np.arange(1, len(order) + 1)
    anime["score_rank"] = score_rank
    popularity_rank = np.empty(n, dtype=np.int64)
    popularity_rank[np.lexsort((ids, -anime["members_count"].to_numpy()))] = np.arange(1, n + 1)
    anime["popularity_rank"] = popularity_rank


def user_statistics(
    users: pd.DataFrame, anime: pd.DataFrame, lists: pd.DataFrame, favorites: pd.DataFrame
) -> None:
    """Add what a profile shows (num_* per status, days, mean score...) to ``users``.

    ``last_online_ts`` is raised to the user's latest list update.
    """
    n = len(users)
    user = lists["user"].to_numpy()
    status = lists["status"].to_numpy()
    for code, name in vocab.STATUS_NAMES.items():
        users[f"num_{name}"] = np.bincount(user[status == code], minlength=n).astype(np.int64)
    users["total_entries"] = np.bincount(user, minlength=n).astype(np.int64)
    progress = lists["progress"].to_numpy().astype(np.float64)
    minutes = anime["minutes_per_episode"].to_numpy()[lists["anime"].to_numpy()]
    users["num_days"] = np.round(np.bincount(user, progress * minutes, n) / 1440.0, 1)
    users["episodes_watched"] = np.bincount(user, progress, n).astype(np.int64)
    scored = lists["score"].to_numpy() > 0
    count = np.bincount(user[scored], minlength=n)
    total = np.bincount(user[scored], lists["score"].to_numpy()[scored].astype(float), n)
    users["mean_score"] = np.where(count > 0, np.round(total / np.maximum(count, 1), 2), 0.0)
    users["rewatched"] = np.bincount(user[lists["is_rewatching"].to_numpy()], minlength=n)
    users["num_favorites"] = np.bincount(favorites["user"], minlength=n).astype(np.int64)
    # a user is online at least as late as their last list update
    last_update = np.zeros(n, dtype=np.int64)
    np.maximum.at(last_update, user, lists["updated_ts"].to_numpy())
    users["last_online_ts"] = np.maximum(users["last_online_ts"].to_numpy(), last_update)
