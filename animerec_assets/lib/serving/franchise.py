"""Franchises from MAL's related-anime graph: which anime belong together, in which watch order.

MAL relates anime by typed, directed rows ("B is A's Sequel", "B is A's Side Story"...). A
franchise is a connected component over the relation types that keep a story together; loose
links ("Character" cameos, "Other" music videos and commercials) are left out, because they chain
unrelated series into one giant component. Pure and vectorized (SciPy sparse graphs, NumPy), so
a catalogue of tens of thousands of anime and their relation rows takes milliseconds.

Watch order inside a franchise: the main line (every entry with a prequel or a sequel) first,
by its place in the prequel chain (the longest prequel path leading to it), ties by start date;
then everything else (side stories, movies, summaries) by start date. An entry with no date
sorts last in its group; the anime id breaks every remaining tie so the order is deterministic.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

# Relation types (normalized: lower case, words separated by one space) that join a franchise.
FRANCHISE_RELATIONS: frozenset[str] = frozenset(
    {
        "sequel",
        "prequel",
        "side story",
        "parent story",
        "spin off",
        "summary",
        "full story",
        "alternative version",
        "alternative setting",
    }
)
SEQUEL = "sequel"
PREQUEL = "prequel"
MAX_CHAIN_PASSES = 256  # bounds the chain-depth relaxation on cyclic (hostile or broken) data

FRANCHISE_COLUMNS = (
    "anime_id",
    "franchise_id",
    "franchise_order",
    "franchise_size",
    "chain_depth",
    "prequel_ids",
)


def normalize_relation(relation_types: pd.Series) -> pd.Series:
    """MAL says "Side Story", Jikan "Side story", some pages "Spin-off": one spelling each."""
    return (
        relation_types.astype("string")
        .str.lower()
        .str.replace(r"[\s_-]+", " ", regex=True)
        .str.strip()
    )


def prequel_edges(relations: pd.DataFrame) -> pd.DataFrame:
    """(prequel, sequel) pairs from both directions of the relation rows, each pair once."""
    kind = normalize_relation(relations["relation_type"])
    a = pd.to_numeric(relations["animeA"], errors="coerce")
    b = pd.to_numeric(relations["animeB"], errors="coerce")
    is_sequel = (kind == SEQUEL).fillna(False).to_numpy(dtype=bool)
    is_prequel = (kind == PREQUEL).fillna(False).to_numpy(dtype=bool)
    edges = pd.DataFrame(
        {
            "prequel": np.concatenate([a[is_sequel], b[is_prequel]]),
            "sequel": np.concatenate([b[is_sequel], a[is_prequel]]),
        }
    ).dropna()
    edges = edges.astype("int64")
    return edges[edges["prequel"] != edges["sequel"]].drop_duplicates().reset_index(drop=True)


def _chain_depth(n: int, source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Longest prequel path ending at each node (0 for a first season), by bounded relaxation."""
    depth = np.zeros(n, dtype=np.int64)
    for _ in range(MAX_CHAIN_PASSES):
        proposed = depth.copy()
        np.maximum.at(proposed, target, depth[source] + 1)
        if np.array_equal(proposed, depth):
            break
        depth = proposed
    return depth


def franchises(anime: pd.DataFrame, relations: pd.DataFrame) -> pd.DataFrame:
    """One row per anime of ``anime``: its franchise and its place in watch order.

    ``anime``: anime_id and optionally start_date (processed.anime); ``relations``: animeA,
    animeB, relation_type (processed.anime_anime; rows without a relation type are
    recommendations and are ignored, as are rows naming an anime not in ``anime``).
    Returns FRANCHISE_COLUMNS: franchise_id is the smallest anime id of the franchise (stable
    across re-crawls while the franchise keeps its members), franchise_order counts from 1,
    prequel_ids lists the direct prequels (empty for a first season or a side story).
    """
    ids = np.unique(pd.to_numeric(anime["anime_id"], errors="coerce").dropna().astype("int64"))
    n = len(ids)
    if n == 0:
        return pd.DataFrame({column: [] for column in FRANCHISE_COLUMNS}).astype(
            {c: "int64" for c in FRANCHISE_COLUMNS if c != "prequel_ids"}
        )
    if "start_date" in anime.columns:
        dates = pd.Series(
            pd.to_datetime(anime["start_date"], errors="coerce").to_numpy(),
            index=pd.to_numeric(anime["anime_id"], errors="coerce"),
        )
        dates = dates[~dates.index.duplicated(keep="last")]
        start = dates.reindex(ids).to_numpy(dtype="datetime64[ns]")
    else:
        start = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")

    kind = normalize_relation(relations["relation_type"])
    joins = kind.isin(FRANCHISE_RELATIONS).fillna(False).to_numpy(dtype=bool)
    a = pd.to_numeric(relations["animeA"], errors="coerce").to_numpy(dtype="float64")[joins]
    b = pd.to_numeric(relations["animeB"], errors="coerce").to_numpy(dtype="float64")[joins]
    a_pos, a_known = _positions(ids, a)
    b_pos, b_known = _positions(ids, b)
    known = a_known & b_known
    graph = coo_matrix(
        (np.ones(int(known.sum()), dtype=np.int8), (a_pos[known], b_pos[known])), shape=(n, n)
    )
    _, component = connected_components(graph, directed=False)

    franchise_id = np.full(int(component.max()) + 1, np.iinfo(np.int64).max)
    np.minimum.at(franchise_id, component, ids)
    size = np.bincount(component, minlength=len(franchise_id))

    edges = prequel_edges(relations)
    p_pos, p_known = _positions(ids, edges["prequel"].to_numpy(dtype="float64"))
    s_pos, s_known = _positions(ids, edges["sequel"].to_numpy(dtype="float64"))
    chain = p_known & s_known
    p_pos, s_pos = p_pos[chain], s_pos[chain]
    # a prequel/sequel pair always joins one franchise (both types are franchise relations)
    depth = _chain_depth(n, p_pos, s_pos)
    main_line = np.zeros(n, dtype=bool)
    main_line[p_pos] = True
    main_line[s_pos] = True

    no_date = np.isnat(start)
    date_key = np.where(no_date, np.iinfo(np.int64).max, start.astype("int64"))
    order = np.lexsort((ids, date_key, np.where(main_line, depth, 0), ~main_line, component))
    rank = np.empty(n, dtype=np.int64)
    sorted_component = component[order]
    first_of_run = np.r_[0, np.flatnonzero(np.diff(sorted_component)) + 1]
    run_start = np.repeat(first_of_run, np.diff(np.r_[first_of_run, n]).astype(np.int64))
    rank[order] = np.arange(n) - run_start + 1

    prequels = (
        pd.DataFrame({"sequel": ids[s_pos], "prequel": ids[p_pos]})
        .sort_values(["sequel", "prequel"])
        .groupby("sequel")["prequel"]
        .agg(list)
    )
    prequel_ids = np.empty(n, dtype=object)  # filled element-wise: np.array would make 2-D
    prequel_ids[:] = [p if isinstance(p, list) else [] for p in prequels.reindex(ids).tolist()]
    return pd.DataFrame(
        {
            "anime_id": ids,
            "franchise_id": franchise_id[component],
            "franchise_order": rank,
            "franchise_size": size[component],
            "chain_depth": np.where(main_line, depth, 0),
            "prequel_ids": prequel_ids,
        },
        columns=list(FRANCHISE_COLUMNS),
    )


def _positions(ids: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of each value in the sorted ``ids`` and whether it is there at all."""
    finite = np.isfinite(values)
    as_int = np.where(finite, values, -1).astype("int64")
    pos = np.searchsorted(ids, as_int)
    pos = np.clip(pos, 0, max(len(ids) - 1, 0))
    known = finite & (len(ids) > 0)
    if len(ids):
        known &= ids[pos] == as_int
    return pos, known


def with_franchises(anime: pd.DataFrame, relations: pd.DataFrame) -> pd.DataFrame:
    """``anime`` with the franchise columns added (what the published cards carry)."""
    franchise = franchises(anime, relations)
    ids = pd.to_numeric(anime["anime_id"], errors="coerce")
    extra = franchise.set_index("anime_id").reindex(ids)
    result = anime.copy()
    for column in FRANCHISE_COLUMNS[1:]:
        result[column] = extra[column].to_numpy()
    return result
