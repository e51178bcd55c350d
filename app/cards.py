"""The HTML of the anime cards: every value from the data is escaped here.

Streamlit renders this with ``unsafe_allow_html=True``, so this module is the one place that
decides what reaches the page: titles, genres, reasons and image URLs all pass through
``html.escape``, and only http(s) image URLs are used at all.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from urllib.parse import urlparse

from animerec_assets.lib.serving import AnimeCard, Recommendation, SimilarAnime
from app.logic import reason_text

PLACEHOLDER_COVER = (
    "data:image/svg+xml;utf8,<svg xmlns='http://www.w3.org/2000/svg' width='225' height='320'>"
    "<rect width='100%25' height='100%25' fill='%23dfe3ea'/></svg>"
)

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
.ar-notice { background: #eef2fb; border-left: 4px solid #2e51a2; border-radius: 8px;
             padding: 12px 16px; margin: 6px 0 12px 0; }
.ar-notice b { color: #2e51a2; }
.ar-freshness { font-size: 0.85rem; opacity: .7; margin-top: -0.6rem; }
[data-testid="stMainBlockContainer"], .block-container { padding-top: 2.2rem; }
</style>
"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def safe_image_url(url: str | None) -> str:
    """The cover URL if it is a plain http(s) URL, else a neutral placeholder."""
    if not url or not isinstance(url, str):
        return PLACEHOLDER_COVER
    parsed = urlparse(url.strip())
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
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
) -> str:
    title = card.title if card and card.title else f"Anime #{anime_id}"
    genres = "".join(
        f'<span class="ar-genre">{_e(g)}</span>' for g in (card.genres if card else ())
    )
    mal_url = f"https://myanimelist.net/anime/{int(anime_id)}"
    label_html = f'<div class="ar-rank">{_e(label)}</div>' if label else ""
    reason_html = f'<div class="ar-reason">{_e(reason)}</div>' if reason else ""
    return (
        f'<div class="ar-card" data-testid="{_e(data_test)}" data-anime-id="{int(anime_id)}">'
        f'<img class="ar-cover" src="{_e(safe_image_url(card.main_pic if card else None))}" '
        f'alt="{_e(title)}" loading="lazy" referrerpolicy="no-referrer">'
        f'<div class="ar-body">{label_html}'
        f'<div class="ar-title"><a href="{mal_url}" target="_blank" rel="noopener">{_e(title)}</a>'
        f"</div>"
        f'<div class="ar-meta">{_e(_meta_line(card))}</div>'
        f'<div class="ar-genres">{genres}</div>{reason_html}</div></div>'
    )


def recommendation_cards_html(recs: Sequence[Recommendation]) -> str:
    cards = "".join(
        card_html(r.anime_id, r.anime, label=f"#{r.rank} for you", reason=reason_text(r))
        for r in recs
    )
    return f'<div class="ar-grid" data-testid="rec-grid">{cards}</div>'


def similar_cards_html(similar: Sequence[SimilarAnime]) -> str:
    cards = "".join(
        card_html(
            s.anime_id,
            s.anime,
            label=f"#{s.rank} · similarity {s.score:.2f}",
            data_test="similar-card",
        )
        for s in similar
    )
    return f'<div class="ar-grid" data-testid="similar-grid">{cards}</div>'


def notice_html(user_name: str, message: str) -> str:
    """The "we do not know you yet" box (the name is validated, and escaped anyway)."""
    return (
        f'<div class="ar-notice" data-testid="unknown-user">No recommendations for '
        f"<b>{_e(user_name)}</b> yet. {_e(message)}</div>"
    )


def freshness_html(text: str) -> str:
    return f'<p class="ar-freshness" data-testid="freshness">{_e(text)}</p>'


def search_option_label(card: AnimeCard) -> str:
    """Plain text for a select box (Streamlit escapes widget labels itself)."""
    details = " · ".join(
        p for p in (card.type or "", f"{card.score:.2f}" if card.score else "") if p
    )
    return f"{card.title} ({details})" if details else card.title
