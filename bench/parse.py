"""``animerec bench parse``: CPU time per page for each parser, beside lxml's bare parse.

The bare parse (lxml building the tree, or json.loads for JSON pages) is the floor any parser
pays; the gap above it is the cost of our selectors. Measured with ``time.process_time`` over
repeated parses of the recorded real pages in ``../shared/mal_pages``.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

# (file under mal_pages/, URL the page was served at, HTTP status)
BENCH_PAGES: list[tuple[str, str, int]] = [
    ("html/anime_6_trigun.html", "https://myanimelist.net/anime/6/Trigun", 200),
    ("html/anime_1_cowboy_bebop_stats.html", "https://myanimelist.net/anime/1/x/stats", 200),
    ("html/anime_21_one_piece_userrecs.html", "https://myanimelist.net/anime/21/x/userrecs", 200),
    ("html/anime_1_cowboy_bebop_reviews.html", "https://myanimelist.net/anime/1/x/reviews", 200),
    (
        "html/anime_22147_amagi_brilliant_park_pics.html",
        "https://myanimelist.net/anime/22147/x/pics",
        200,
    ),
    ("html/profile_sandshark.html", "https://myanimelist.net/profile/sandshark", 200),
    (
        "html/profile_morshuwarrior_friends_2024.html",
        "https://myanimelist.net/profile/m_w/friends",
        200,
    ),
    ("html/history_morshuwarrior.html", "https://myanimelist.net/history/morshuwarrior", 200),
    ("html/club_1_cowboy_bebop.html", "https://myanimelist.net/clubs.php?cid=1", 200),
    (
        "html/animelist_Xinil_load_status7_offset0.rows.json",
        "https://myanimelist.net/animelist/Xinil/load.json?status=7&offset=0",
        200,
    ),
    ("jikan/aniprops_v4_anime_6_full.json", "https://api.jikan.moe/v4/anime/6/full", 200),
    (
        "jikan/jikanpy_v4_users_nekomata1037_full.json",
        "https://api.jikan.moe/v4/users/nekomata1037/full",
        200,
    ),
]


@dataclass(frozen=True)
class PageTiming:
    page_type: str
    kilobytes: float
    items: int
    parser_ms: float
    bare_ms: float


def default_pages_dir() -> Path:
    return Path(__file__).resolve().parents[2] / ".." / "shared" / "mal_pages"


def _cpu_ms(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    start = time.process_time()
    for _ in range(repeat):
        fn()
    return (time.process_time() - start) * 1000 / repeat


def run_parse_bench(pages_dir: Path, repeat: int = 20) -> list[PageTiming]:
    """Time every recorded page: our full parse (response build included) vs the bare parse."""
    import lxml.html

    from crawler.parsers import build_response, parse_response
    from crawler.urls import page_type

    if not pages_dir.is_dir():
        raise FileNotFoundError(f"recorded pages not found: {pages_dir}")
    now = datetime(2026, 1, 17, tzinfo=UTC)
    timings = []
    for name, url, status in BENCH_PAGES:
        body = (pages_dir / name).read_bytes()
        is_json = name.endswith(".json")
        result = parse_response(build_response(url, body, status), now)

        def ours(body: bytes = body, url: str = url, status: int = status) -> None:
            parse_response(build_response(url, body, status), now)

        def bare(body: bytes = body, is_json: bool = is_json) -> None:
            json.loads(body) if is_json else lxml.html.document_fromstring(body)

        ours()  # warm caches (selector compilation) before timing
        timings.append(
            PageTiming(
                page_type=page_type(url) or "?",
                kilobytes=len(body) / 1024,
                items=len(result.items),
                parser_ms=_cpu_ms(ours, repeat),
                bare_ms=_cpu_ms(bare, repeat),
            )
        )
    return timings


def format_table(timings: list[PageTiming]) -> str:
    header = (
        f"{'page type':<20} {'KiB':>7} {'items':>6} {'parser ms':>10} {'bare ms':>8} {'ratio':>6}"
    )
    lines = [header, "-" * len(header)]
    for t in timings:
        ratio = t.parser_ms / t.bare_ms if t.bare_ms > 0 else float("nan")
        lines.append(
            f"{t.page_type:<20} {t.kilobytes:>7.1f} {t.items:>6} {t.parser_ms:>10.2f} "
            f"{t.bare_ms:>8.2f} {ratio:>6.1f}"
        )
    total_parser = sum(t.parser_ms for t in timings)
    total_bare = sum(t.bare_ms for t in timings)
    lines.append("-" * len(header))
    lines.append(f"{'all pages':<20} {'':>7} {'':>6} {total_parser:>10.2f} {total_bare:>8.2f}")
    return "\n".join(lines)
