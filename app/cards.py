"""The HTML of the anime cards: every value from the data is plain text here.

Titles, genres and reasons come from crawled pages, which somebody else controls. Streamlit
renders these strings with ``st.html`` (DOMPurify, no Markdown, no scripts), and on top of that
every value is reduced to one line of text (control and bidi-override characters dropped,
whitespace collapsed, length capped) and ``html.escape``d: a title can neither end an HTML block
nor become Markdown, an image or a link. Pictures are shown only from MAL's CDN
(``cdn.myanimelist.net``) or, for the local demo, from the ``/images/`` path of the configured
MAL base URL (the replica serves its covers there); anything else gets a neutral placeholder.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Collection, Sequence
from urllib.parse import urlsplit

from animerec_assets.lib.serving import AnimeCard, Recommendation, SimilarAnime
from animerec_assets.settings import MAL_BASE_URL
from app.logic import mal_anime_url, reason_text

PLACEHOLDER_COVER = (
    "data:image/svg+xml;utf8,<svg xmlns='http://www.w3.org/2000/svg' width='225' height='320'>"
    "<rect width='100%25' height='100%25' fill='%23dfe3ea'/></svg>"
)
MAL_CDN_ORIGIN = "https://cdn.myanimelist.net"
MAX_TEXT_CHARS = 200
# bidi overrides/isolates and zero-width marks: they reorder or hide what a reader sees
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")

CSS = """
<style>
.ar-grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(180px, 1fr));
           gap: 18px; margin: 8px 0 18px 0; }
.ar-card { background: var(--secondary-background-color, #f5f6f8); border-radius: 12px;
           overflow: hidden; box-shadow: 0 1px 4px rgba(0,0,0,.12); display: flex;
           flex-direction: column; }
.ar-cover { width: 100%; aspect-ratio: 225 / 320; object-fit: cover; background: #dfe3ea;
            display: block; }
.ar-body { padding: 10px 12px 12px 12px; display: flex; flex-direction: column; gap: 6px; }
.ar-title { font-weight: 700; font-size: 0.98rem; line-height: 1.25; }
.ar-title a { color: inherit; text-decoration: none; }
.ar-meta { font-size: 0.82rem; opacity: .8; }
.ar-rank { font-size: 0.72rem; font-weight: 700; color: #2e51a2; letter-spacing: .04em; }
.ar-genres { display: flex; flex-wrap: wrap; gap: 4px; }
.ar-genre { font-size: 0.7rem; background: #e4e9f7; color: #2e51a2; border-radius: 999px;
            padding: 1px 8px; }
.ar-reason { font-size: 0.8rem; font-style: italic; opacity: .85; }
.ar-mal { font-size: 0.78rem; font-weight: 600; color: #2e51a2; text-decoration: none; }
.ar-progress { display: flex; gap: 6px; flex-wrap: wrap; margin: 4px 0 8px 0; }
.ar-step { font-size: 0.8rem; border-radius: 999px; padding: 2px 10px; background: #e4e9f7;
           color: #55607a; }
.ar-step.done { background: #2e51a2; color: #fff; }
.ar-notice { background: #eef2fb; border-left: 4px solid #2e51a2; border-radius: 8px;
             padding: 12px 16px; margin: 6px 0 12px 0; }
.ar-notice b { color: #2e51a2; }
.ar-freshness { font-size: 0.85rem; opacity: .7; margin-top: -0.6rem; }
[data-testid="stMainBlockContainer"], .block-container { padding-top: 2.2rem; }
</style>
"""


def plain_text(value: object, limit: int = MAX_TEXT_CHARS) -> str:
    """One line of visible text: control, format and bidi characters dropped, whitespace
    collapsed (a blank line cannot end anything), at most ``limit`` characters."""
    text = _INVISIBLE.sub("", str(value))
    text = "".join(c if unicodedata.category(c)[0] != "C" else " " for c in text)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _e(value: object) -> str:
    return html.escape(plain_text(value), quote=True)


def image_origins(mal_base_url: str | None = None) -> frozenset[str]:
    """Where covers may come from: MAL's CDN, plus the crawled site when it is not MAL (the
    local replica serves the covers it links under its own ``/images/``)."""
    origins = {MAL_CDN_ORIGIN}
    if mal_base_url and mal_base_url.rstrip("/") != MAL_BASE_URL:
        parts = urlsplit(mal_base_url)
        if parts.scheme in ("http", "https") and parts.netloc:
            origins.add(f"{parts.scheme}://{parts.netloc}".lower())
    return frozenset(origins)


def safe_image_url(url: str | None, origins: Collection[str] = (MAL_CDN_ORIGIN,)) -> str:
    """The cover URL if it is an ``/images/`` URL on an allowed origin, else a placeholder."""
    if not url or not isinstance(url, str) or len(url) > 500:
        return PLACEHOLDER_COVER
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return PLACEHOLDER_COVER
    origin = f"{parts.scheme}://{parts.netloc}".lower()
    if (
        origin not in origins
        or "@" in parts.netloc
        or not parts.path.startswith("/images/")
        or ".." in parts.path
        or any(c.isspace() or c in "\"'<>" for c in url.strip())
    ):
        return PLACEHOLDER_COVER
    return url.strip()


def _meta_line(card: AnimeCard | None) -> str:
    if card is None:
        return ""
    parts = [card.type or "", f"★ {card.score:.2f}" if isinstance(card.score, float) else ""]
    return " · ".join(part for part in parts if part)


def card_html(
    anime_id: int,
    card: AnimeCard | None,
    *,
    label: str = "",
    reason: str = "",
    data_test: str = "anime-card",
    origins: Collection[str] = (MAL_CDN_ORIGIN,),
    link: str | None = None,
    position: int | None = None,
) -> str:
    """One card; ``link`` is where its title goes (the anime's MAL page by default)."""
    title = card.title if card and card.title else f"Anime #{anime_id}"
    genres = "".join(
        f'<span class="ar-genre">{_e(g)}</span>' for g in (card.genres if card else ())
    )
    href = html.escape(link or mal_anime_url(anime_id), quote=True)
    cover = safe_image_url(card.main_pic if card else None, origins)
    label_html = f'<div class="ar-rank">{_e(label)}</div>' if label else ""
    reason_html = f'<div class="ar-reason">{_e(reason)}</div>' if reason else ""
    place = f' data-position="{int(position)}"' if position is not None else ""
    anchor = 'target="_blank" rel="noopener noreferrer"'
    return (
        f'<div class="ar-card" data-testid="{_e(data_test)}" data-anime-id="{int(anime_id)}"'
        f"{place}>"
        f'<img class="ar-cover" src="{html.escape(cover)}" '
        f'alt="{_e(title)}" loading="lazy" referrerpolicy="no-referrer">'
        f'<div class="ar-body">{label_html}'
        f'<div class="ar-title"><a href="{href}" {anchor}>{_e(title)}</a></div>'
        f'<div class="ar-meta">{_e(_meta_line(card))}</div>'
        f'<div class="ar-genres">{genres}</div>{reason_html}'
        f'<a class="ar-mal" data-testid="mal-link" href="{href}" {anchor}>View on MyAnimeList'
        f"</a></div></div>"
    )


def recommendation_card_html(
    rec: Recommendation,
    position: int,
    link: str,
    origins: Collection[str] = (MAL_CDN_ORIGIN,),
) -> str:
    """One recommendation card (the page puts each in a column, its buttons below it)."""
    return card_html(
        rec.anime_id,
        rec.anime,
        label=f"#{rec.rank} for you",
        reason=reason_text(rec),
        origins=origins,
        link=link,
        position=position,
    )


def recommendation_cards_html(
    recs: Sequence[Recommendation],
    origins: Collection[str] = (MAL_CDN_ORIGIN,),
    mal_base_url: str | None = None,
) -> str:
    cards = "".join(
        recommendation_card_html(r, i, mal_anime_url(r.anime_id, mal_base_url), origins)
        for i, r in enumerate(recs)
    )
    return f'<div class="ar-grid" data-testid="rec-grid">{cards}</div>'


def similar_cards_html(
    similar: Sequence[SimilarAnime],
    origins: Collection[str] = (MAL_CDN_ORIGIN,),
    mal_base_url: str | None = None,
) -> str:
    cards = "".join(
        card_html(
            s.anime_id,
            s.anime,
            label=f"#{s.rank} · similarity {s.score:.2f}",
            data_test="similar-card",
            origins=origins,
            link=mal_anime_url(s.anime_id, mal_base_url),
        )
        for s in similar
    )
    return f'<div class="ar-grid" data-testid="similar-grid">{cards}</div>'


def pool_count_html(matching: int, published: int) -> str:
    """How many of the visitor's published picks the filters leave (the five come from them)."""
    return (
        f'<p class="ar-meta" data-testid="pool-count" data-matching="{int(matching)}">'
        f"{int(matching)} of your {int(published)} top picks match these filters.</p>"
    )


def notice_html(user_name: str, message: str) -> str:
    """The "we do not know you yet" box (the name is validated, and escaped anyway)."""
    return (
        f'<div class="ar-notice" data-testid="unknown-user">No recommendations for '
        f"<b>{_e(user_name)}</b> yet. {_e(message)}</div>"
    )


def freshness_html(text: str) -> str:
    return f'<p class="ar-freshness" data-testid="freshness">{_e(text)}</p>'


def search_option_label(card: AnimeCard) -> str:
    """Plain text for a select box (Streamlit escapes widget labels; one line, no Markdown)."""
    details = " · ".join(
        p for p in (card.type or "", f"{card.score:.2f}" if card.score else "") if p
    )
    title = plain_text(card.title)
    return f"{title} ({details})" if details else title


def crawl_progress_html(stages: Sequence[tuple[str, bool]], message: str) -> str:
    """Queued → crawled → in the published model, the steps reached filled in."""
    steps = "".join(
        f'<span class="ar-step{" done" if done else ""}" data-done="{str(done).lower()}">'
        f"{_e(label)}</span>"
        for label, done in stages
    )
    return (
        f'<div data-testid="crawl-progress"><div class="ar-progress">{steps}</div>'
        f'<div class="ar-meta">{_e(message)}</div></div>'
    )
