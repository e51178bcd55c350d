"""Hostile pages: what a MAL someone else controls could answer, as fault-injection rules.

Four fault kinds, set like any other rule (``POST /_replica/faults`` or
``FaultInjector.configure(rules=...)``), so a test decides exactly which page turns hostile:

- ``offhost_redirect``: a 302 to another host (the rule's ``location``, e.g. a second loopback
  server standing in for an internal admin page);
- ``identity_mismatch``: a profile page (or Jikan user) that names another user than its URL;
- ``huge_numbers``: counters with 23 and 400 digits, a negative episode count, ``1e999`` in JSON;
- ``markup_title``: a title carrying Markdown, HTML, line breaks and a bidi override.

Body rewrites work on the rendered bytes, so every page keeps its normal structure apart from
the hostile values. ``hostile_rules`` picks one target per kind from a world.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass

IMPOSTOR = "Mallory_Impostor"
MARKUP_TITLE = (
    'Bebop\n\n![p](http://evil.example/p.png) [Log in](http://evil.example/login) <img src="x">'
    "\u202e\u2066tail"
)
HUGE = "1" + "0" * 22  # 23 digits
HUGER = "9" * 400


def _sub(pattern: str, replacement: str, text: str, count: int = 0) -> str:
    """``re.sub`` with a literal replacement (no escapes or group references read in it)."""
    return re.sub(pattern, lambda _: replacement, text, count=count)


def _sub_first(pattern: str, replacement: str, text: str) -> str:
    return re.sub(pattern, lambda m: m.group(1) + replacement + m.group(2), text, count=1)


def rewrite_body(kind: str, body: bytes, is_json: bool) -> bytes:
    """The page ``body`` with the hostile values of ``kind`` (unchanged where none apply)."""
    text = body.decode("utf-8")
    if kind == "identity_mismatch":
        if is_json:
            text = _sub(r'"username":"[^"]*"', f'"username":"{IMPOSTOR}"', text, count=1)
        else:
            text = _sub(r"[A-Za-z0-9_-]{2,16}'s Profile", f"{IMPOSTOR}'s Profile", text)
    elif kind == "markup_title":
        if is_json:
            text = _sub(r'"title":"[^"]*"', '"title":' + json.dumps(MARKUP_TITLE), text, count=1)
        else:
            escaped = html.escape(MARKUP_TITLE)
            text = _sub_first(r'(<h1 class="title-name[^>]*><strong>).*?(</strong>)', escaped, text)
    elif kind == "huge_numbers":
        if is_json:
            for name in ("members", "scored_by", "favorites"):
                text = _sub(rf'"{name}":\d+', f'"{name}":{HUGE}', text)
            text = _sub(r'"score":[\d.]+', '"score":1e999', text, count=1)
            text = _sub(r'"episodes":\d+', '"episodes":-26', text, count=1)
            text = _sub(r'"num_watched_episodes":\d+', f'"num_watched_episodes":{HUGE}', text)
        else:
            text = _sub_first(r'(<span itemprop="ratingCount"[^>]*>)\d+(</span>)', HUGE, text)
            text = _sub_first(r'(<span itemprop="ratingValue"[^>]*>)[\d.]+(</span>)', HUGER, text)
            text = _sub_first(r"(Episodes:</span>\s*)\d+(\s*<)", "-26", text)
            text = _sub_first(
                r'(<span class="numbers members">Members <strong>)[\d,]+(<)', HUGE, text
            )
    return text.encode("utf-8")


@dataclass(frozen=True)
class HostileTargets:
    """Which pages of a world turn hostile (canonical usernames and anime ids)."""

    offhost_user: str
    impostor_page_user: str
    huge_numbers_anime: int
    markup_title_anime: int


def hostile_targets(usernames: list[str], anime_ids: list[int]) -> HostileTargets:
    """One target per kind: the first users and anime given, distinct."""
    if len(usernames) < 2 or len(anime_ids) < 2:
        raise ValueError("hostile targets need at least two users and two anime")
    return HostileTargets(usernames[0], usernames[1], anime_ids[0], anime_ids[1])


def hostile_rules(targets: HostileTargets, offhost_base: str) -> list[dict]:
    """Fault rules (every request, forever) turning the targets' pages hostile."""
    every = {"remaining": None}
    return [
        {
            "path": f"/profile/{targets.offhost_user}",
            "fault": "offhost_redirect",
            "location": f"{offhost_base.rstrip('/')}/internal/admin",
            **every,
        },
        {
            "path": f"/jikan/v4/users/{targets.offhost_user}*",
            "fault": "offhost_redirect",
            "location": f"{offhost_base.rstrip('/')}/internal/admin",
            **every,
        },
        {"path": f"/profile/{targets.impostor_page_user}", "fault": "identity_mismatch", **every},
        {
            "path": f"/jikan/v4/users/{targets.impostor_page_user}/full",
            "fault": "identity_mismatch",
            **every,
        },
        {"path": f"/anime/{targets.huge_numbers_anime}", "fault": "huge_numbers", **every},
        {
            "path": f"/jikan/v4/anime/{targets.huge_numbers_anime}/full",
            "fault": "huge_numbers",
            **every,
        },
        {"path": f"/anime/{targets.markup_title_anime}", "fault": "markup_title", **every},
        {
            "path": f"/jikan/v4/anime/{targets.markup_title_anime}/full",
            "fault": "markup_title",
            **every,
        },
    ]
