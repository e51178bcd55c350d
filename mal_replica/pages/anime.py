"""The anime page and its sections (stats, userrecs, reviews, pics, clubs).

The same landmarks ``crawler/parsers/mal_anime.py`` reads on MAL.
"""

from __future__ import annotations

import json

import numpy as np

from mal_replica import text, vocab
from mal_replica.index import WorldIndex
from mal_replica.pages.layout import e, layout
from mal_replica.pages.urls import anime_url, main_pic, pic_url, profile_url, user_image_url

REVIEWS_PER_PAGE = 20
RECENT_MEMBERS_PER_PAGE = 75
HIDDEN_RECOMMENDERS_SHOWN = 5
ANIME_SECTIONS = ("stats", "userrecs", "reviews", "pics", "clubs")


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
