"""Listings a seeding crawl starts from: the top anime ranking and the random users page."""

from __future__ import annotations

import numpy as np

from mal_replica import text, vocab
from mal_replica.index import WorldIndex
from mal_replica.pages.layout import e, layout
from mal_replica.pages.urls import anime_url, main_pic, profile_url, user_image_url

TOP_PER_PAGE = 50


def topanime_page(base: str, index: WorldIndex, limit: int, kind: str = "") -> str:
    a = index.t.anime
    types = {t.lower(): t for t in vocab.TYPES}
    if kind == "bypopularity":
        order = index.top_by_popularity
    elif kind in types:
        order = index.top_by_score[a["type"][index.top_by_score] == types[kind]]
    else:
        order = index.top_by_score
    limit = max(limit, 0)
    chosen = order[limit : limit + TOP_PER_PAGE]
    rows = []
    for rank, pos in enumerate(chosen, start=limit + 1):
        pos = int(pos)
        link = anime_url(base, index, pos)
        score_count = int(a["score_count"][pos])
        score = f"{float(a['score'][pos]):.2f}" if score_count else "N/A"
        episodes = int(a["num_episodes"][pos])
        rows.append(
            '<tr class="ranking-list"><td class="rank ac" valign="top">'
            f'<span class="lightLink top-anime-rank-text rank{rank}">{rank}</span></td>'
            '<td class="title al va-t word-break">'
            f'<a class="hoverinfo_trigger fl-l ml12 mr8" href="{link}">'
            f'<img width="50" height="70" alt="{e(index.titles[pos])}" class="lazyload" '
            f'data-src="{main_pic(base, index, pos)}"></a>'
            '<div class="detail"><div class="di-ib clearfix">'
            '<h3 class="hoverinfo_trigger fl-l fs14 fw-b anime_ranking_h3">'
            f'<a href="{link}">{e(index.titles[pos])}</a></h3></div>'
            f'<div class="information di-ib mt4">{a["type"][pos]} '
            f"({episodes if episodes else '?'} eps)<br>"
            f"{text.thousands(a['members_count'][pos])} members</div></div></td>"
            f'<td class="score ac fs14"><div class="js-top-ranking-score-col di-ib al">'
            f'<span class="text on score-label">{score}</span></div></td></tr>'
        )
    suffix = f"&amp;type={e(kind)}" if kind else ""
    nav = []
    if limit > 0:
        nav.append(
            f'<a href="{base}/topanime.php?limit={max(limit - TOP_PER_PAGE, 0)}{suffix}" '
            'class="link-blue-box prev">Prev 50</a>'
        )
    if limit + TOP_PER_PAGE < len(order):
        nav.append(
            f'<a href="{base}/topanime.php?limit={limit + TOP_PER_PAGE}{suffix}" '
            'class="link-blue-box next">Next 50</a>'
        )
    body = (
        '<div id="contentWrapper"><div><h1 class="h1">Top Anime</h1></div><div id="content">'
        f'<div class="pagination ac">{"".join(nav)}</div>'
        '<table class="top-ranking-table"><tr class="table-header"><td class="rank">Rank</td>'
        '<td class="title">Title</td><td class="score">Score</td></tr>'
        + "".join(rows)
        + f'</table><div class="pagination ac">{"".join(nav)}</div></div></div>'
    )
    return layout(base, "Top Anime", body, canonical=f"{base}/topanime.php")


def users_page(base: str, index: WorldIndex, positions: np.ndarray) -> str:
    """MAL's users.php: a table of random users, each linked to the profile."""
    users = index.t.users
    now = index.world.now_ts
    cells = []
    for pos in positions:
        name = index.usernames[int(pos)]
        cells.append(
            '<td class="borderClass" align="center" valign="top" width="125">'
            f'<div class="picSurround"><a href="{profile_url(base, name)}">'
            f'<img src="{user_image_url(base, int(users["user_id"][int(pos)]))}" '
            'border="0"></a></div>'
            f'<div style="margin-bottom: 7px;"><a href="{profile_url(base, name)}">{e(name)}</a>'
            f'</div><div class="lightLink">'
            f"{text.relative(int(users['last_online_ts'][int(pos)]), now)}</div></td>"
        )
    rows = "".join(f"<tr>{''.join(cells[i : i + 5])}</tr>" for i in range(0, len(cells), 5))
    body = (
        '<div id="contentWrapper"><div><h1 class="h1">Users</h1></div><div id="content">'
        '<div class="normal_header">Recently Online Users</div>'
        f'<table border="0" cellpadding="0" cellspacing="0" width="100%">{rows}</table>'
        "</div></div>"
    )
    return layout(base, "Users", body, canonical=f"{base}/users.php")
