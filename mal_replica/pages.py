"""HTML pages in MAL's structure, rendered on demand from the world index.

The markup reuses the landmarks of the real pages (see ../shared/mal_pages): `span.dark_text`
info rows, `itemprop` score fields, `span.numbers.*`, `div.related-entries`, `table.score-stats`,
`div.borderClass` + `div.picSurround` recommendations, `div.review-element[data-reactions]`,
`ul.user-status`, `div.stats.anime`, `div.boxlist-container.friend`,
`div.history_content_wrapper`, and MAL's link shapes and pagination links, so one set of
parsers reads the replica and MAL. Links use the replica's own base URL so a spider can follow
them. Every function is pure: (index, base URL, request arguments) -> text.
"""

from __future__ import annotations

import json
from html import escape

import numpy as np

from mal_replica import text, vocab
from mal_replica.index import WorldIndex

REVIEWS_PER_PAGE = 20
FRIENDS_PER_PAGE = 100
LIST_ROWS_PER_PAGE = 300
RECENT_MEMBERS_PER_PAGE = 75
TOP_PER_PAGE = 50
HIDDEN_RECOMMENDERS_SHOWN = 5
ANIME_SECTIONS = ("stats", "userrecs", "reviews", "pics", "clubs")


def e(value: object) -> str:
    return escape(str(value), quote=True)


# ----------------------------------------------------------------------------------------------
# URLs


def anime_url(base: str, index: WorldIndex, pos: int, section: str = "") -> str:
    url = f"{base}/anime/{int(index.anime_ids[pos])}/{index.slugs[pos]}"
    return f"{url}/{section}" if section else url


def profile_url(base: str, name: str, section: str = "") -> str:
    return f"{base}/profile/{name}/{section}" if section else f"{base}/profile/{name}"


def pic_url(base: str, bucket: int, pic_id: int, large: bool = False) -> str:
    return f"{base}/images/anime/{int(bucket)}/{int(pic_id)}{'l' if large else ''}.jpg"


def user_image_url(base: str, user_id: int) -> str:
    return f"{base}/images/userimages/{int(user_id)}.jpg"


def main_pic(base: str, index: WorldIndex, pos: int) -> str:
    rows = index.pics_by_anime.rows(pos)
    if len(rows) == 0:
        return f"{base}/images/qm_50.gif"
    pics = index.t.pictures
    return pic_url(base, pics["bucket"][rows[0]], pics["pic_id"][rows[0]])


# ----------------------------------------------------------------------------------------------
# shared layout


def layout(base: str, title: str, body: str, canonical: str = "", head: str = "") -> str:
    link = f'<link rel="canonical" href="{e(canonical)}">' if canonical else ""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="UTF-8">'
        f"<title>\n{e(title)} - MyAnimeList.net\n</title>{link}"
        '<meta property="og:site_name" content="MyAnimeList.net">'
        f'{head}</head>\n<body class="page-common">\n'
        '<div id="myanimelist"><div class="wrapper">'
        f'<div id="headerSmall"><a href="{base}/" class="link-mal-logo">MyAnimeList.net</a></div>'
        '<div id="menu" class="header-menu-unit"><ul id="nav">'
        f'<li><a href="{base}/topanime.php">Top Anime</a></li>'
        f'<li><a href="{base}/users.php">Users</a></li></ul></div>\n'
        f"{body}\n</div></div>"
        '<footer><div id="footer-block"><div class="footer-link-icon-block">'
        "MyAnimeList replica — synthetic data</div></div></footer></body></html>\n"
    )


def not_found_page(base: str) -> str:
    body = (
        '<div id="contentWrapper"><div><h1 class="h1">404 Not Found</h1></div>'
        '<div id="content"><div class="error404 mt16 mb16">'
        "<p>This page doesn't exist.</p>"
        f'<p><a href="{base}/">Return to the home page</a></p></div></div></div>'
    )
    return layout(base, "404 Not Found", body)


def home_page(base: str) -> str:
    body = (
        '<div id="contentWrapper"><div><h1 class="h1">Welcome to MyAnimeList.net!</h1></div>'
        '<div id="content"><ul>'
        f'<li><a href="{base}/topanime.php">Top Anime</a></li>'
        f'<li><a href="{base}/topanime.php?type=bypopularity">Most Popular Anime</a></li>'
        f'<li><a href="{base}/users.php">Users</a></li></ul></div></div>'
    )
    return layout(base, "MyAnimeList.net - Anime and Manga Database and Community", body)


def robots_txt(base: str) -> str:
    return (
        "User-agent: *\n"
        "Disallow: /login.php\n"
        "Disallow: /register.php\n"
        "Disallow: /ownlist/\n"
        "Disallow: /panel.php\n"
        "Disallow: /dbchanges.php\n"
        "Disallow: /modules.php\n"
        "Disallow: /mymessages.php\n"
        "Disallow: /forum/search\n"
        "Disallow: /_replica/\n"
        "\n"
        f"Sitemap: {base}/sitemap/index.xml\n"
    )


# ----------------------------------------------------------------------------------------------
# anime pages


def _row(label: str, value: str) -> str:
    return (
        f'<div class="spaceit_pad">\n  <span class="dark_text">{label}:</span>\n  {value}\n'
        "  </div>\n"
    )


def _genre_rows(base: str, genres: list[str]) -> str:
    rows = []
    for row_name, singular, plural in (
        ("Genres", "Genre", "Genres"),
        ("Theme", "Theme", "Themes"),
        ("Demographic", "Demographic", "Demographics"),
    ):
        tags = [g for g in genres if vocab.GENRE_ROW.get(g) == row_name]
        if not tags:
            continue
        label = singular if len(tags) == 1 else plural
        links = ",         ".join(
            f'<span itemprop="genre" style="display: none">{e(g)}</span>'
            f'<a href="{base}/anime/genre/{vocab.GENRE_IDS[g]}/{vocab.slugify(g)}" title="{e(g)}">'
            f"{e(g)}</a>"
            for g in tags
        )
        rows.append(_row(label, links))
    return "".join(rows)


def _studio_links(base: str, studios: list[str]) -> str:
    if not studios:
        return f'None found, <a href="{base}/dbchanges.php?go=add">add some</a>'
    return ",       ".join(
        f'<a href="{base}/anime/producer/{vocab.STUDIO_IDS.get(s, 0)}/{vocab.slugify(s)}" '
        f'title="{e(s)}">{e(s)}</a>'
        for s in studios
    )


def _left_side(base: str, index: WorldIndex, pos: int) -> str:
    a = index.t.anime
    title = index.titles[pos]
    kind = a["type"][pos]
    episodes = int(a["num_episodes"][pos])
    status = int(a["airing_status"][pos])
    start, end = int(a["start_ts"][pos]), int(a["end_ts"][pos])
    one = bool(text.single_date(np.asarray([kind]), np.asarray([episodes]))[0])
    score = a["score"][pos]
    score_count = int(a["score_count"][pos])
    rank = int(a["score_rank"][pos])
    english = a["title_english"][pos]
    rows = [
        f'<div style="text-align: center;"><a href="{anime_url(base, index, pos, "pics")}">'
        f'<img class="lazyload" data-src="{main_pic(base, index, pos)}" alt="{e(title)}" '
        'itemprop="image"></a></div>\n',
        "<h2>Alternative Titles</h2>",
        _row("Japanese", e(title)),
    ]
    if english:
        rows.append(_row("English", e(english)))
    rows += [
        "<br>\n<h2>Information</h2>\n",
        _row("Type", f'<a href="{base}/topanime.php?type={kind.lower()}">{e(kind)}</a>'),
        _row("Episodes", str(episodes) if episodes > 0 else "Unknown"),
        _row("Status", vocab.AIRING_STATUS[status]),
        _row("Aired", text.aired(start, end, status, one)),
    ]
    if kind == "TV":
        season = text.season(start)
        name, year = season.split()
        rows.append(
            _row(
                "Premiered",
                f'<a href="{base}/anime/season/{year}/{name.lower()}">{season}</a>',
            )
        )
    rows += [
        _row("Producers", f'None found, <a href="{base}/dbchanges.php?go=add">add some</a>'),
        _row("Studios", _studio_links(base, list(a["studios"][pos]))),
        _row("Source", e(a["source"][pos])),
        _genre_rows(base, list(a["genres"][pos])),
        _row("Duration", text.duration(int(a["minutes_per_episode"][pos]), episodes)),
        _row("Rating", e(a["rating"][pos])),
        "<br>\n<h2>Statistics</h2>\n",
    ]
    if score_count > 0:
        level = int(score)
        rows.append(
            '<div itemprop="aggregateRating" itemscope '
            'itemtype="http://schema.org/AggregateRating" class="spaceit_pad po-r '
            'js-statistics-info di-ib" data-id="info1">\n  <span class="dark_text">Score:</span>\n'
            f'  <span itemprop="ratingValue" class="score-label score-{level}">{score:.2f}</span>'
            f'<sup>1</sup> (scored by <span itemprop="ratingCount" style="display: none">'
            f"{score_count}</span>{text.thousands(score_count)} users)\n"
            '  <meta itemprop="bestRating" content="10">\n'
            '  <meta itemprop="worstRating" content="1">\n</div>\n'
        )
    else:
        rows.append(_row("Score", '<span class="score-label score-na">N/A</span>'))
    rows += [
        '<div class="spaceit_pad po-r js-statistics-info di-ib" data-id="info2">\n'
        '  <span class="dark_text">Ranked:</span>\n'
        f"  {'#' + str(rank) if rank > 0 else 'N/A'}<sup>2</sup>\n</div>\n",
        _row("Popularity", f"#{int(a['popularity_rank'][pos])}"),
        _row("Members", text.thousands(a["members_count"][pos])),
        _row("Favorites", text.thousands(a["favorites_count"][pos])),
    ]
    return (
        '<td class="borderClass" width="225" style="border-width: 0 1px 0 0;" valign="top">'
        '<div class="leftside" style="width: 225px">\n' + "".join(rows) + "</div></td>\n"
    )


def _horiznav(base: str, index: WorldIndex, pos: int, active: str) -> str:
    items = [
        ("", "Details"),
        ("characters", "Characters &amp; Staff"),
        ("stats", "Stats"),
        ("reviews", "Reviews"),
        ("userrecs", "Recommendations"),
        ("clubs", "Clubs"),
        ("pics", "Pictures"),
    ]
    links = "".join(
        f'<li><a href="{anime_url(base, index, pos, section)}"'
        f"{' class=' + chr(34) + 'horiznav_active' + chr(34) if section == active else ''}>"
        f"{label}</a>\n    </li>\n"
        for section, label in items
    )
    return (
        '<div id="horiznav_nav" style="margin: 5px 0 10px 0;">\n'
        f'  <ul style="margin-right: 0; padding-right: 0;">\n{links}</ul>\n</div>\n'
    )


def _anime_shell(
    base: str, index: WorldIndex, pos: int, section: str, page_title: str, main: str
) -> str:
    title = index.titles[pos]
    kind = index.t.anime["type"][pos]
    header = (
        '<div id="contentWrapper" itemscope itemtype="http://schema.org/TVSeries">'
        '<div><div class="h1 edit-info"><div class="h1-title"><div itemprop="name">'
        f'<h1 class="title-name h1_bold_none"><strong>{e(title)}</strong></h1></div></div>'
        "</div></div>"
        '<div id="content">\n<table border="0" cellpadding="0" cellspacing="0" width="100%">\n'
        "<tr>\n"
    )
    right = (
        '<td valign="top" style="padding-left: 5px;">'
        '<div class="rightside js-scrollfix-bottom-rel">'
        + _horiznav(base, index, pos, section)
        + main
        + "</div></td>\n</tr>\n</table>\n</div></div>"
    )
    og = (
        f'<meta property="og:title" content="{e(title)}">'
        f'<meta property="og:type" content="video.{"movie" if kind == "Movie" else "tv_show"}">'
        f'<meta property="og:image" content="{main_pic(base, index, pos)}">'
        f'<meta property="og:url" content="{anime_url(base, index, pos)}">'
    )
    return layout(
        base,
        page_title,
        header + _left_side(base, index, pos) + right,
        canonical=anime_url(base, index, pos, section),
        head=og,
    )


def _related_entries(base: str, index: WorldIndex, pos: int) -> str:
    rel = index.t.relations
    rows = index.relations_by_anime.rows(pos)
    a = index.t.anime
    tiles, table_rows = [], {}
    for r in rows:
        other = int(rel["b"][r])
        kind = rel["relation_type"][r]
        link = anime_url(base, index, other)
        other_type = a["type"][other]
        if kind in ("Sequel", "Prequel"):
            tiles.append(
                '<div class="entry borderClass ">\n  <div class="image">\n'
                f'    <a href="{link}"><img src="{base}/images/spacer.gif" '
                f'data-src="{main_pic(base, index, other)}" width="50" class="lazyload" '
                f'alt="{e(index.titles[other])}" border="0"></a>\n  </div>\n'
                '  <div class="content">\n    <div class="relation">\n'
                f"      {kind}\n      ({e(other_type)})\n    </div>\n"
                f'    <div class="title">\n      <a href="{link}">\n        '
                f"{e(index.titles[other])}\n      </a>\n    </div>\n  </div>\n</div>"
            )
        else:
            table_rows.setdefault(kind, []).append(
                f'<li class=""><a href="{link}">{e(index.titles[other])}</a> ({e(other_type)})</li>'
            )
    table = "".join(
        '<tr class="">\n<td valign="top" class="ar fw-n borderClass nowrap">\n'
        f"  {kind}:\n</td>\n"
        '<td width="100%" class="borderClass">\n<ul class="entries">\n'
        + "".join(items)
        + "\n</ul>\n</td>\n</tr>\n"
        for kind, items in table_rows.items()
    )
    return (
        '<div><h2 id="related_entries">Related Entries</h2></div>'
        '<div class="related-entries">\n<div class="entries-tile">'
        + "".join(tiles)
        + '</div>\n<table class="entries-table">\n'
        + table
        + "</table>\n</div>\n"
    )


def anime_page(base: str, index: WorldIndex, pos: int) -> str:
    a = index.t.anime
    title = index.titles[pos]
    score_count = int(a["score_count"][pos])
    score = a["score"][pos]
    rank = int(a["score_rank"][pos])
    label = f"{score:.2f}" if score_count else "N/A"
    level = int(score) if score_count else "na"
    kind = a["type"][pos]
    season = (
        f'<span class="information season"><a href="{base}/anime/season/'
        f"{text.season(int(a['start_ts'][pos])).split()[1]}/"
        f'{text.season(int(a["start_ts"][pos])).split()[0].lower()}">'
        f"{text.season(int(a['start_ts'][pos]))}</a></span>"
        if kind == "TV"
        else ""
    )
    studios = list(a["studios"][pos])
    header_stats = (
        '<div class="di-t w100 mt12"><div class="anime-detail-header-stats di-tc va-t">'
        '<div class="stats-block po-r clearfix">'
        f'<div class="fl-l score" data-title="score" data-user="{text.thousands(score_count)} '
        f'users"><div class="score-label score-{level}">{label}</div></div>'
        '<div class="di-ib ml12 pl20 pt8">'
        f'<span class="numbers ranked">Ranked <strong>{"#" + str(rank) if rank > 0 else "N/A"}'
        "</strong></span>"
        '<span class="numbers popularity">Popularity <strong>'
        f"#{int(a['popularity_rank'][pos])}</strong></span>"
        '<span class="numbers members">Members <strong>'
        f"{text.thousands(a['members_count'][pos])}</strong></span></div>"
        f'<div class="information-block">{season}'
        f'<span class="information type"><a href="{base}/topanime.php?type={kind.lower()}">'
        f"{e(kind)}</a></span>"
        f'<span class="information studio author">{_studio_links(base, studios)}</span>'
        "</div></div></div></div>\n"
    )
    synopsis = text.synopsis(int(index.anime_ids[pos]), title, list(a["genres"][pos]))
    main = (
        '<table border="0" cellspacing="0" cellpadding="0" width="100%"><tr>'
        f'<td valign="top" class="pb24"><div class="pb16">{header_stats}</div>'
        f'<div><h2 id="synopsis">Synopsis</h2></div><p itemprop="description">{e(synopsis)}</p>'
        '</td></tr><tr><td class="pb24">'
        + _related_entries(base, index, pos)
        + "</td></tr></table>\n"
    )
    return _anime_shell(base, index, pos, "", title, main)


def anime_stats_page(base: str, index: WorldIndex, pos: int, show: int = 0) -> str:
    a = index.t.anime
    summary = "".join(
        f'<div class="spaceit_pad"><span class="dark_text">{label}:</span> '
        f"{text.thousands(a[column][pos])}</div>"
        for label, column in (
            ("Watching", "watching_count"),
            ("Completed", "completed_count"),
            ("On-Hold", "on_hold_count"),
            ("Dropped", "dropped_count"),
            ("Plan to Watch", "plan_to_watch_count"),
            ("Total", "total_count"),
        )
    )
    score_count = max(int(a["score_count"][pos]), 1)
    score_rows = []
    for s in range(10, 0, -1):
        votes = int(a[f"score_{s:02d}_count"][pos])
        pct = f"{100.0 * votes / score_count:.1f}"
        score_rows.append(
            f'\n\t\t\t<tr>\n\t\t\t\t<td width="20" class="score-label score-{s}">{s}</td>\n'
            '\t\t\t\t<td><div class="spaceit_pad"><div class="updatesBar" style="float: left; '
            f'height: 15px; width: {pct}%;"></div><span> {pct}% <small>({votes} votes)</small>'
            "</span></div></td>\n\t\t\t</tr>"
        )
    lists = index.t.lists
    rows = index.lists_by_anime.rows(pos)
    start = max(show, 0)
    page = rows[start : start + RECENT_MEMBERS_PER_PAGE]
    episodes = int(a["num_episodes"][pos])
    now = index.world.now_ts
    members = []
    for r in page:
        u = int(lists["user"][r])
        name = index.usernames[u]
        score = int(lists["score"][r])
        seen = int(lists["progress"][r])
        members.append(
            '<tr><td class="borderClass"><div class="di-tc" style="width:30px;">'
            f'<a href="{profile_url(base, name)}" class="image-member"></a></div>'
            f'<div class="di-tc va-m al pl4"><a href="{profile_url(base, name)}" '
            f'class="word-break">{e(name)}</a></div></td>'
            f'<td class="borderClass ac">{score if score else "-"}</td>'
            f'<td class="borderClass ac">{vocab.STATUS_LABELS[int(lists["status"][r])]}</td>'
            f'<td class="borderClass ac">\n  {seen} / {episodes if episodes else "?"}\n</td>'
            f'<td class="borderClass ac">{text.relative(int(lists["updated_ts"][r]), now)}'
            "</td></tr>"
        )
    next_link = (
        f'<div class="spaceit"><a href="{anime_url(base, index, pos, "stats")}?show='
        f'{start + RECENT_MEMBERS_PER_PAGE}#members">Next Page</a></div>'
        if start + RECENT_MEMBERS_PER_PAGE < len(rows)
        else ""
    )
    main = (
        f'<h2 id="summary_stats">Summary Stats</h2>{summary}<br><h2 id="score_stats">Score Stats'
        '</h2>\n\t\t<table border="0" cellpadding="0" cellspacing="0" width="100%" '
        f'class="score-stats">{"".join(score_rows)}\n\t\t</table>\n'
        '<br><a name="members" id="members"></a><div><h2>Recently Updated By</h2></div>'
        + next_link
        + '<table border="0" cellpadding="0" cellspacing="0" width="100%" '
        'class="table-recently-updated"><tr><td class="borderClass fw-b">Member</td>'
        '<td class="borderClass fw-b ac" width="100">Score</td>'
        '<td class="borderClass fw-b ac" width="140">Status</td>'
        '<td class="borderClass fw-b ac" width="115">Eps Seen</td>'
        '<td class="borderClass fw-b ac" width="115">Activity</td></tr>'
        + "".join(members)
        + "</table>"
    )
    return _anime_shell(base, index, pos, "stats", f"{index.titles[pos]} - Statistics", main)


def _recommender_names(index: WorldIndex, rec_row: int, count: int) -> list[str]:
    """The first recommender is stored; the others are drawn deterministically per pair."""
    recs = index.t.recommendations
    first = int(recs["first_recommender"][rec_row])
    rng = np.random.default_rng(int(recs["recommendation_id"][rec_row]))
    others = rng.integers(0, len(index.usernames), size=max(count - 1, 0))
    return [index.usernames[first]] + [index.usernames[int(o)] for o in others]


def _rec_entry(base: str, name: str, text_seed: int, title: str, shade: int, rec_id: int) -> str:
    return (
        f'<div class="borderClass bgColor{shade}" style="padding: 3px; '
        'border-width: 1px 0 0 0; margin: 4px 0;">'
        '<div class="spaceit_pad detail-user-recs-text" style="white-space: pre-wrap">'
        f"{e(text.review_text(text_seed, title))}</div>"
        '<div class="spaceit_pad"><span style="float:right;">'
        f'<a href="{base}/dbchanges.php?go=reportanimerecommendation&amp;id={rec_id}">'
        "<small>report</small></a></span>\n"
        f'  Recommended by <a href="{base}/profile/{name}">{e(name)}</a>\n</div></div>'
    )


def anime_userrecs_page(base: str, index: WorldIndex, pos: int) -> str:
    recs = index.t.recommendations
    blocks = []
    rows = index.recs_by_anime.rows(pos)
    for k in rows:
        other = int(index.rec_other[k])
        row = int(index.rec_row[k])
        votes = int(recs["num_recommenders"][row])
        low, high = sorted((int(index.anime_ids[pos]), int(index.anime_ids[other])))
        names = _recommender_names(index, row, min(votes, HIDDEN_RECOMMENDERS_SHOWN + 1))
        rid = int(recs["recommendation_id"][row])
        link = anime_url(base, index, other)

        more = ""
        if votes > 1:
            hidden = "".join(
                _rec_entry(base, name, rid * 31 + n, index.titles[other], 2 - n % 2, rid)
                for n, name in enumerate(names[1:], start=1)
            )
            more = (
                '<div class="spaceit"><a href="javascript:void(0);" '
                f'class="js-similar-recommendations-button" data-id="{k}">Read recommendations '
                f"by <strong>{votes - 1}</strong> more users</a></div>"
                f'<div id="simaid{k}" style="display: none;">{hidden}</div>'
            )
        blocks.append(
            '<div class="borderClass">\n<table border="0" cellpadding="0" cellspacing="0" '
            'width="100%">\n<tr>\n<td width="60" valign="top">\n'
            f'<div class="picSurround"><a href="{link}" class="hoverinfo_trigger">'
            f'<img src="{base}/images/spacer.gif" data-src="{main_pic(base, index, other)}" '
            f'width="50" border="0" alt="Anime: {e(index.titles[other])}" class="lazyload">'
            '</a></div>\n</td>\n<td valign="top">\n'
            f'<div style="margin-bottom: 2px;"><a href="{link}"><strong>'
            f"{e(index.titles[other])}</strong></a> "
            f'<span style="float:right;"><a href="{base}/recommendations/anime/{low}-{high}" '
            'title="Permalink"><small>permalink</small></a></span></div>'
            + _rec_entry(base, names[0], rid * 31, index.titles[other], 1, rid)
            + more
            + "\n</td>\n</tr>\n</table>\n</div>\n"
        )
    main = (
        '<div class="border_solid"><h2 class="h2_overwrite">Recommendations</h2></div>\n'
        + "".join(blocks)
    )
    if not blocks:
        main += '<div class="borderClass">No recommendations have been made for this title.'
        main += "</div>"
    return _anime_shell(
        base, index, pos, "userrecs", f"{index.titles[pos]} - Recommendations", main
    )


def anime_reviews_page(base: str, index: WorldIndex, pos: int, page: int = 1) -> str:
    reviews = index.t.reviews
    rows = index.reviews_by_anime.rows(pos)
    page = max(page, 1)
    start = (page - 1) * REVIEWS_PER_PAGE
    chosen = rows[start : start + REVIEWS_PER_PAGE]
    title = index.titles[pos]
    reviews_url = anime_url(base, index, pos, "reviews")
    elements = []
    for r in chosen:
        rid = int(reviews["review_id"][r])
        user = int(reviews["user"][r])
        name = index.usernames[user]
        total = int(reviews["reactions"][r])
        nice = total - total // 10
        counts = [nice, total // 10, 0, 0, 0, 0, 0]
        reactions = json.dumps(
            {"icon": ["1"], "num": total, "count": [str(c) for c in counts]},
            separators=(",", ":"),
        )
        when = int(reviews["review_ts"][r])
        tag = reviews["tag"][r]
        label = {"recommended": "Recommended", "mixed-feelings": "Mixed Feelings"}.get(
            tag, "Not Recommended"
        )
        tags = (
            f'<div class="tag {tag} btn-label js-btn-label" data-id="1" '
            f'data-href="{reviews_url}">{label}</div>'
        )
        if bool(reviews["preliminary"][r]):
            tags += '<div class="tag preliminary">Preliminary</div>'
        user_id = int(index.t.users["user_id"][user])
        elements.append(
            f"<div class=\"review-element js-review-element\" data-reactions='{reactions}'>"
            '<div class="thumbbody mt8">\n<div class="thumb">'
            f'<a href="{profile_url(base, name)}" class="ga-click">'
            f'<img src="{user_image_url(base, user_id)}" width="48"></a></div>\n'
            f'<div class="body">\n<div title="{text.clock(when)}" class="update_at">'
            f"{text.month_day_year(when)}</div>"
            f'<div class="username">\n<a href="{profile_url(base, name)}" class="ga-click">'
            f"{e(name)}</a>\n</div>"
            f'<div class="tags">{tags}</div>'
            f'<div class="text">\n{e(text.review_text(rid, title))}\n</div>'
            '<div class="rating mt20 mb20 js-hidden" style="display: none;">\n'
            f'  Reviewer’s Rating: <span class="num">{int(reviews["score"][r])}</span>\n'
            "</div>"
            f'<div class="bottom-navi"><div class="icon-reaction js-icon-reaction" '
            f'data-id="{rid}"></div><div class="open"><a href="{base}/reviews.php?id={rid}" '
            'class="ga-click">Open</a></div></div></div>\n</div>\n</div>\n'
        )
    more = ""
    if start + REVIEWS_PER_PAGE < len(rows):
        more = (
            f'<div class="ml4 mb8"><a href="{reviews_url}?sort=mostvoted&amp;filter_check=&amp;'
            f'filter_hide=&amp;preliminary=on&amp;spoiler=on&amp;p={page + 1}" class="ga-click" '
            'data-ga-click-type="review-more-reviews">More Reviews</a></div>'
        )
    main = (
        '<div class="border_solid"><h2 class="h2_overwrite">Reviews</h2></div>'
        + more
        + "".join(elements)
        + f'<div class="mt4">{more}</div>'
    )
    return _anime_shell(base, index, pos, "reviews", f"{title} - Reviews", main)


def anime_pics_page(base: str, index: WorldIndex, pos: int) -> str:
    pics = index.t.pictures
    title = e(index.titles[pos])
    cells = []
    for r in index.pics_by_anime.rows(pos):
        bucket, pic_id = int(pics["bucket"][r]), int(pics["pic_id"][r])
        cells.append(
            '<td width="225" align="center"><div class="picSurround">'
            f'<a href="{pic_url(base, bucket, pic_id, large=True)}" title="{title}" '
            'class="js-picture-gallery" rel="gallery-anime">'
            f'<img class="lazyload" data-src="{pic_url(base, bucket, pic_id)}" '
            f'alt="{title} picture" border="0"></a></div></td>'
        )
    rows = "".join(f"<tr>{''.join(cells[i : i + 2])}</tr>" for i in range(0, len(cells), 2))
    main = (
        '<div class="mb8 border_solid"><h2 class="h2_overwrite">Pictures</h2></div>'
        f'<table border="0" cellpadding="0" cellspacing="10" align="center">{rows}</table>'
    )
    return _anime_shell(base, index, pos, "pics", f"{index.titles[pos]} - Pictures", main)


def anime_clubs_page(base: str, index: WorldIndex, pos: int) -> str:
    clubs = index.t.clubs
    club_anime = index.t.club_anime
    items = []
    for r in index.clubs_by_anime.rows(pos):
        c = int(club_anime["club"][r])
        items.append(
            f'<div class="borderClass"><a href="{base}/clubs.php?cid='
            f'{int(clubs["club_id"][c])}">{e(clubs["name"][c])}</a><br>'
            f"<small>{text.thousands(clubs['members_count'][c])} members</small></div>"
        )
    main = '<div class="border_solid"><h2 class="h2_overwrite">Clubs</h2></div>' + (
        "".join(items) or '<div class="borderClass">No clubs found.</div>'
    )
    return _anime_shell(base, index, pos, "clubs", f"{index.titles[pos]} - Clubs", main)


# ----------------------------------------------------------------------------------------------
# profile pages


def _user_left(base: str, index: WorldIndex, upos: int) -> str:
    u = index.t.users
    name = index.usernames[upos]
    now = index.world.now_ts
    status = [
        ("Last Online", text.relative(int(u["last_online_ts"][upos]), now)),
    ]
    if u["gender"][upos]:
        status.append(("Gender", u["gender"][upos]))
    status.append(("Joined", text.month_day_year(int(u["join_ts"][upos]))))
    status_items = "".join(
        '<li class="clearfix"><span class="user-status-title di-ib fl-l fw-b">'
        f'{label}</span><span class="user-status-data di-ib fl-r">{e(value)}</span></li>'
        for label, value in status
    )
    club_rows = index.clubs_by_user.rows(upos)
    clubs = index.t.clubs
    members = index.t.club_members
    club_items = "".join(
        f'<li><a href="{base}/clubs.php?cid={int(clubs["club_id"][c])}">'
        f"{e(clubs['name'][c])}</a></li>"
        for c in (int(members["club"][r]) for r in club_rows)
    )
    friends = index.friends_by_user.rows(upos)
    icons = "".join(
        f'<a href="{profile_url(base, index.usernames[int(index.friend_other[k])])}" '
        f'class="icon-friend" title="{e(index.usernames[int(index.friend_other[k])])}">'
        f"{e(index.usernames[int(index.friend_other[k])])}</a>"
        for k in friends[:10]
    )
    user_id = int(u["user_id"][upos])
    return (
        '<div class="container-left"><div class="user-profile">'
        f'<div class="user-image mb8"><img class="lazyload" '
        f'data-src="{user_image_url(base, user_id)}"></div>'
        f'<ul class="user-status border-top pb8 mb4">\n{status_items}  </ul>\n'
        '<div class="user-button clearfix mb12">'
        f'<a class="btn-profile-submit fl-l" href="{base}/animelist/{name}">Anime List</a>'
        f'<a class="btn-profile-submit fl-r" href="{base}/mangalist/{name}">Manga List</a>'
        "</div>"
        '<ul class="user-status border-top">'
        f'<li class="icon-history link"><a href="{base}/history/{name}">'
        '<span class="user-status-title di-ib fw-b w100">History</span></a></li>'
        f'<li class="link"><a href="{profile_url(base, name, "favorites")}">'
        '<span class="user-status-title di-ib fw-b w100">Favorites</span></a></li></ul>'
        '<ul class="user-status border-top mt12 mb12">'
        f'<li class="link"><a href="{profile_url(base, name, "reviews")}" class="clearfix of-h">'
        '<span class="user-status-title di-ib fl-l fw-b">Reviews</span>'
        '<span class="user-status-data di-ib fl-r fw-b">'
        f"{index.reviews_by_user.count(upos)}</span></a></li>"
        f'<li class="link"><a href="{profile_url(base, name, "clubs")}" class="clearfix of-h">'
        '<span class="user-status-title di-ib fl-l fw-b">Clubs</span>'
        f'<span class="user-status-data di-ib fl-r fw-b">{len(club_rows)}</span></a></li></ul>'
        f'<h4><a href="{profile_url(base, name, "friends")}" class="fl-r fs11 fw-n ff-Verdana '
        f'all-link">All ({len(friends)})</a>Friends</h4>'
        f'<div class="user-friends pt4 pb12">{icons}</div>'
        f'<h4>Clubs</h4><div class="user-clubs"><ul class="clubs">{club_items}</ul></div>'
        "</div></div>\n"
    )


def _profile_shell(base: str, index: WorldIndex, upos: int, active: str, right: str) -> str:
    name = index.usernames[upos]
    nav_items = [
        ("", "Home"),
        ("statistics", "Statistics"),
        ("favorites", "Favorites"),
        ("reviews", "Reviews"),
        ("clubs", "Clubs"),
        ("friends", "Friends"),
    ]
    nav = "".join(
        f'<li>\n<a href="/profile/{name}{"/" + section if section else ""}"'
        f"{' class=' + chr(34) + 'horiznav_active' + chr(34) if section == active else ''}>"
        f"{label}</a>\n</li>\n"
        for section, label in nav_items
    )
    title_suffix = {"": "", "friends": " - Friends", "clubs": " - Clubs"}.get(active, "")
    body = (
        '<div id="contentWrapper"><div><h1 class="h1"><span class="di-ib po-r">'
        f"{e(name)}'s Profile</span></h1></div>"
        '<div id="content"><div class="content-container">'
        + _user_left(base, index, upos)
        + '<div class="container-right"><div>'
        f'<div id="horiznav_nav" style="margin: 5px 0 10px;"><ul>{nav}</ul></div>'
        + right
        + "</div></div></div></div></div>"
    )
    return layout(
        base,
        f"{name}'s Profile{title_suffix}",
        body,
        canonical=profile_url(base, name, active),
    )


def profile_page(base: str, index: WorldIndex, upos: int) -> str:
    u = index.t.users
    name = index.usernames[upos]
    world = index.world
    status_items = "".join(
        f'<li class="clearfix mb12"><a href="{base}/animelist/{name}?status={code}" '
        f'class="di-ib fl-l lh10 circle anime {vocab.STATUS_NAMES[code]}">'
        f'{vocab.STATUS_LABELS[code]}</a><span class="di-ib fl-r lh10">'
        f"{text.thousands(u['num_' + vocab.STATUS_NAMES[code]][upos])}</span></li>"
        for code in vocab.STATUS_CODES
    )
    data_items = "".join(
        '<li class="clearfix mb12"><span class="di-ib fl-l fn-grey2">'
        f'{label}</span><span class="di-ib fl-r">{text.thousands(u[column][upos])}</span></li>'
        for label, column in (
            ("Total Entries", "total_entries"),
            ("Rewatched", "rewatched"),
            ("Episodes", "episodes_watched"),
        )
    )
    mean = float(u["mean_score"][upos])
    stats = (
        '<div class="user-statistics"><div class="user-statistics-stats mt16">'
        '<div class="stats anime"><h5 class="mb12">'
        f'<a class="floatRightHeader ff-Verdana" href="{profile_url(base, name, "statistics")}">'
        "All Anime Stats</a>Anime Stats</h5>"
        '<div class="stat-score di-t w100 pt8">'
        '<div class="di-tc al pl8 fs12 fw-b"><span class="fn-grey2 fw-n">Days: </span>'
        f"{float(u['num_days'][upos]):.1f}</div>"
        '<div class="di-tc ar pr8 fs12 fw-b"><span class="fn-grey2 fw-n">Mean Score: </span>'
        f'<span class="score-label score-{int(mean)}">{mean:.2f}</span></div></div>'
        '<div class="mt12 ml8 mr8 clearfix">'
        f'<ul class="stats-status fl-l">{status_items}</ul>'
        f'<ul class="stats-data fl-r">{data_items}</ul></div></div>'
    )
    lists = index.t.lists
    rows = index.lists_by_user.rows(upos)
    latest = rows[np.argsort(-lists["updated_ts"][rows], kind="stable")[:3]]
    updates = []
    for r in latest:
        apos = int(lists["anime"][r])
        code = int(lists["status"][r])
        score = int(lists["score"][r])
        episodes = int(index.t.anime["num_episodes"][apos])
        seen = int(lists["progress"][r])
        link = anime_url(base, index, apos)
        updates.append(
            '<div class="statistics-updates di-b w100 mb8">'
            f'<a href="{link}" class="fl-l di-ib mr8 image"><img class="lazyload" '
            f'data-src="{main_pic(base, index, apos)}" width="40" '
            f'alt="{e(index.titles[apos])}"></a>'
            f'<div class="data"><a href="{link}">{e(index.titles[apos])}</a>'
            '<div class="clearfix graph-content pt8"><span class="fl-r fn-grey2">'
            f"{text.relative(int(lists['updated_ts'][r]), world.now_ts)}</span></div>"
            f'<div class="fn-grey2">\n  {vocab.STATUS_LABELS[code]}\n'
            f"  {seen if seen else '-'}/{episodes if episodes else '?'}\n  ·  Scored\n"
            + (
                f'<span class="text anime {vocab.STATUS_NAMES[code]} score-label '
                f'score-{score}">{score}</span>'
                if score
                else "-"
            )
            + "</div></div></div>"
        )
    favorites = index.t.favorites
    fav_items = []
    for r in index.favorites_by_user.rows(upos):
        apos = int(favorites["anime"][r])
        year = text.utc(int(index.t.anime["start_ts"][apos])).year
        fav_items.append(
            f'<li class="btn-fav" title="{e(index.titles[apos])}">'
            f'<a href="{anime_url(base, index, apos)}" class="link bg-center">'
            f'<span class="title fs10">{e(index.titles[apos])}</span>'
            f'<span class="users">{index.t.anime["type"][apos]}·{year}</span>'
            f'<img src="{base}/images/spacer.gif" data-src="{main_pic(base, index, apos)}" '
            f'width="70" height="110" class="image lazyload" alt="{e(index.titles[apos])}">'
            "</a></li>"
        )
    favs = (
        f'<h2 class="mb12"><a href="/profile/{name}/favorites" class="floatRightHeader '
        'ff-Verdana">All Favorites</a>Favorites</h2>'
        + (
            f"<h5>Anime ({len(fav_items)})</h5>"
            '<div class="fav-slide-block mb12" id="anime_favorites"><div class="fav-slide-outer">'
            f'<ul class="fav-slide" data-slide="10">{"".join(fav_items)}</ul></div></div>'
            if fav_items
            else '<div class="mb12">No favorites yet.</div>'
        )
    )
    right = (
        stats + '<div class="updates anime"><h5 class="mb12">'
        f'<a class="floatRightHeader ff-Verdana" href="{base}/history/{name}/anime">Anime History'
        "</a>Last Anime Updates</h5>"
        + "".join(updates)
        + "</div></div></div>"
        + f'<div class="user-favorites-outer">{favs}</div>'
    )
    return _profile_shell(base, index, upos, "", right)


def friends_page(base: str, index: WorldIndex, upos: int, start: int) -> tuple[int, str]:
    """(status, html). Past the end MAL answers 404 with 'No friends found :('."""
    name = index.usernames[upos]
    rows = index.friends_by_user.rows(upos)
    now = index.world.now_ts
    users = index.t.users
    chosen = rows[start : start + FRIENDS_PER_PAGE] if start >= 0 else rows[:0]
    if len(chosen) == 0 and (start > 0 or len(rows) == 0):
        right = '<div class="majorPad">No friends found :(</div>'
        return (404 if start > 0 else 200), _profile_shell(base, index, upos, "friends", right)
    boxes = []
    for k in chosen:
        other = int(index.friend_other[k])
        other_name = index.usernames[other]
        boxes.append(
            '<div class="boxlist col-3">\n<div class="di-tc">\n'
            f'<a href="{profile_url(base, other_name)}">\n<img class="lazyload image profile-w48" '
            f'src="{base}/images/spacer.gif" '
            f'data-src="{user_image_url(base, int(users["user_id"][other]))}" '
            f'alt="{e(other_name)}">\n</a>\n</div>\n<div class="di-tc va-t pl8 data">\n'
            f'<div class="title"><a href="{profile_url(base, other_name)}">{e(other_name)}</a>'
            "</div>\n"
            '<div class="di-ib mt4 fn-grey2">\n'
            f"  {text.relative(int(users['last_online_ts'][other]), now)}\n</div>\n"
            '<div class="di-ib mt4 fn-grey2">\n'
            f"  Friends since {text.month_day_year_clock(int(index.friend_since[k]))}    </div>\n"
            "</div>\n</div>\n"
        )
    page = start // FRIENDS_PER_PAGE + 1
    links = []
    if start > 0:
        links.append(f'<a href="{profile_url(base, name, "friends")}?p={page - 1}">Prev</a>')
    if start + FRIENDS_PER_PAGE < len(rows):
        links.append(f'<a href="{profile_url(base, name, "friends")}?p={page + 1}">Next</a>')
    right = (
        f'<div class="mt16 mb16">\n<div class="mt4 mb8">{" ".join(links)}</div>\n</div>\n'
        '<div class="boxlist-container friend mb16">\n' + "".join(boxes) + "</div>\n"
    )
    return 200, _profile_shell(base, index, upos, "friends", right)


def profile_clubs_page(base: str, index: WorldIndex, upos: int) -> str:
    clubs = index.t.clubs
    members = index.t.club_members
    items = "".join(
        f'<li><a href="{base}/clubs.php?cid={int(clubs["club_id"][c])}">'
        f"{e(clubs['name'][c])}</a></li>"
        for c in (int(members["club"][r]) for r in index.clubs_by_user.rows(upos))
    )
    right = f'<div class="user-clubs"><ul class="clubs">{items}</ul></div>'
    return _profile_shell(base, index, upos, "clubs", right)


def _history_group(ts: int, now: int) -> str:
    days = (text.utc(now).date() - text.utc(ts).date()).days
    if days <= 0:
        return "Today"
    if days == 1:
        return "Yesterday"
    if days < 7:
        return f"{text.utc(ts):%A}"
    if days < 14:
        return "Last Week"
    return "Earlier"


def history_page(base: str, index: WorldIndex, upos: int) -> str:
    name = index.usernames[upos]
    history = index.t.history
    now = index.world.now_ts
    groups: dict[str, list[str]] = {}
    for r in index.history_by_user.rows(upos):
        apos = int(history["anime"][r])
        ts = int(history["watched_ts"][r])
        groups.setdefault(_history_group(ts, now), []).append(
            f'<tr><td class="borderClass"><a href="/anime.php?id={int(index.anime_ids[apos])}">\n'
            f"  {e(index.titles[apos])}\n</a>\n  ep.\n  <strong>"
            f"{int(history['episode'][r])}</strong>\n</td>"
            f'<td class="borderClass" align="right"> {text.relative(ts, now)}\n</td>\n</tr>'
        )
    table = "".join(
        '<tr>\n<td colspan="2">\n<div class="normal_header">\n'
        f'  {label}\n  <span style="font-weight: normal;"><small>({len(rows)})</small></span>\n'
        "</div>\n</td>\n</tr>" + "".join(rows) + '<tr>\n<td colspan="2"> </td>\n</tr>'
        for label, rows in groups.items()
    )
    if not groups:
        table = '<tr><td colspan="2">No history found</td></tr>'
    body = (
        f'<div id="contentWrapper"><div><h1 class="h1">{e(name)}\'s History</h1></div>'
        '<div id="content">\n<div id="horiznav_nav" style="margin-bottom: 15px;"><ul>'
        f'<li><a class="" href="/history/{name}">All History</a></li>'
        f'<li><a class="horiznav_active" href="/history/{name}/anime">Anime History</a></li>'
        f'<li><a class="" href="/history/{name}/manga">Manga History</a></li></ul></div>\n'
        '<div class="history_content_wrapper">\n<table border="0" cellpadding="0" '
        f'cellspacing="0" width="100%">{table}</table></div></div></div>'
    )
    return layout(base, f"{name}'s History", body, canonical=f"{base}/history/{name}/anime")


# ----------------------------------------------------------------------------------------------
# anime list JSON (load.json) and its HTML page


def list_rows(base: str, index: WorldIndex, upos: int) -> list[dict]:
    """A user's whole list as load.json rows, in MAL's order (status, then title)."""
    lists, anime = index.t.lists, index.t.anime
    rows = sorted(
        index.lists_by_user.rows(upos).tolist(),
        key=lambda r: (int(lists["status"][r]), index.titles[int(lists["anime"][r])]),
    )
    result = []
    for r in rows:
        apos = int(lists["anime"][r])
        a_id = int(index.anime_ids[apos])
        code = int(lists["status"][r])
        episodes = int(anime["num_episodes"][apos])
        airing = int(anime["airing_status"][apos])
        start, end = int(anime["start_ts"][apos]), int(anime["end_ts"][apos])
        genres = [
            {"id": vocab.GENRE_IDS[g], "name": g}
            for g in anime["genres"][apos]
            if vocab.GENRE_ROW[g] != "Demographic"
        ]
        demographics = [
            {"id": vocab.GENRE_IDS[g], "name": g}
            for g in anime["genres"][apos]
            if vocab.GENRE_ROW[g] == "Demographic"
        ]
        title = index.titles[apos]
        score_count = int(anime["score_count"][apos])
        mean = float(anime["score"][apos]) if score_count else 0
        updated = int(lists["updated_ts"][r])
        created = int(lists["created_ts"][r])
        finished = code == 2
        result.append(
            {
                "status": code,
                "score": int(lists["score"][r]),
                "tags": "",
                "is_rewatching": 1 if bool(lists["is_rewatching"][r]) else 0,
                "num_watched_episodes": int(lists["progress"][r]),
                "created_at": created,
                "updated_at": updated,
                # MAL sends purely numeric titles as numbers (e.g. the anime "86")
                "anime_title": int(title) if title.isdigit() else title,
                "anime_title_eng": anime["title_english"][apos] or "",
                "anime_num_episodes": episodes,
                # load.json codes: 1 currently airing, 2 finished airing, 3 not yet aired
                "anime_airing_status": {0: 2, 1: 1, 2: 3}[airing],
                "anime_id": a_id,
                "anime_studios": None,
                "anime_licensors": None,
                "anime_season": None,
                "anime_total_members": int(anime["members_count"][apos]),
                "anime_total_scores": score_count,
                "anime_score_val": mean,
                "anime_score_diff": round(int(lists["score"][r]) - mean, 2)
                if int(lists["score"][r]) and score_count
                else 0,
                "anime_popularity": int(anime["popularity_rank"][apos]),
                "has_episode_video": False,
                "has_promotion_video": False,
                "has_video": False,
                "video_url": f"/anime/{a_id}/{index.slugs[apos]}/video",
                "genres": genres,
                "demographics": demographics,
                "title_localized": None,
                "anime_url": f"/anime/{a_id}/{index.slugs[apos]}",
                "anime_image_path": main_pic(base, index, apos),
                "is_added_to_list": False,
                "anime_media_type_string": anime["type"][apos],
                "anime_mpaa_rating_string": anime["rating"][apos].split(" - ")[0],
                "start_date_string": text.mdy_short(created) if code != 6 else None,
                "finish_date_string": text.mdy_short(updated) if finished else None,
                "anime_start_date_string": text.mdy_short(start),
                "anime_end_date_string": text.mdy_short(end) if end >= 0 else None,
                "days_string": max(1, (updated - created) // 86_400) if finished else None,
                "storage_string": "",
                "priority_string": "Low",
                "notes": "",
                "editable_notes": "",
            }
        )
    return result


def load_json(base: str, index: WorldIndex, upos: int, offset: int, status: int = 7) -> list[dict]:
    rows = list_rows(base, index, upos)
    if status != 7:
        rows = [r for r in rows if r["status"] == status]
    return rows[max(offset, 0) : max(offset, 0) + LIST_ROWS_PER_PAGE]


def animelist_page(base: str, index: WorldIndex, upos: int, status: int = 7) -> str:
    name = index.usernames[upos]
    items = json.dumps(load_json(base, index, upos, 0, status), separators=(",", ":"))
    body = (
        f'<div id="contentWrapper"><div><h1 class="h1">{e(name)}\'s Anime List</h1></div>'
        '<div id="content"><table class="list-table" '
        f'data-items="{e(items)}"><tbody><tr class="list-table-header"><th>Title</th></tr>'
        "</tbody></table></div></div>"
    )
    return layout(base, f"{name}'s Anime List", body, canonical=f"{base}/animelist/{name}")


# ----------------------------------------------------------------------------------------------
# listings a seeding crawl starts from


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
