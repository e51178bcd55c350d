"""Profile pages (profile, friends, clubs) and the anime history of a user.

The same landmarks ``crawler/parsers/mal_user.py`` reads on MAL.
"""

from __future__ import annotations

import numpy as np

from mal_replica import text, vocab
from mal_replica.index import WorldIndex
from mal_replica.pages.layout import e, layout
from mal_replica.pages.urls import anime_url, main_pic, profile_url, user_image_url

FRIENDS_PER_PAGE = 100


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
