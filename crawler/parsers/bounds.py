"""Bounds on every crawled value: what a page (somebody else's text) may put into an item.

One rule per field, applied to every item a parser builds (``ParseContext.item``), so MAL HTML,
``load.json`` and Jikan all pass the same gate:

- numbers: ids are positive, counts and episodes ``>= 0``, ranks ``>= 1``, all ``< 2**53`` (JSON
  and JavaScript stay exact, BIGINT never overflows); scores 1-10 (a list score may be 0, MAL's
  "unscored"); floats finite and in range. Out of range -> None.
- text: control characters, bidi overrides/isolates and lone surrogates removed; one line for
  every field but ``synopsis`` (the only multi-line field: line breaks kept, at most one blank
  line in a row); capped per field. Markup stays as characters: rendering is the reader's job.
- usernames match MAL's own rule; dates look like ISO-8601 (what ``dates.py`` produces).
- URLs: pictures only on MAL's CDN (or the host the settings allow, e.g. the local replica);
  recommendation links only on MAL's own host.

A value that is dropped, cut or cleaned of control characters leaves a note; the router turns a
page's notes into one ``crawl_error`` item (``reason`` starting with ``NOTE_PREFIX``), which
says "this page was read, with these values refused" rather than "this page failed".

Pure: no Scrapy, no settings; allowed picture hosts come in as an argument.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from animerec_assets.contracts.landing import AGE_RATINGS
from crawler.urls import USERNAME_RE

MAX_EXCLUSIVE = 2**53  # every integer below this is exact as a JSON/JavaScript number
# What ``base.to_int`` returns for a number it would not read (40+ digits, a non-finite float):
# outside every bound, so the field is refused with a note.
UNREADABLE_NUMBER = 2**64
NOTE_PREFIX = "bounded: "
MAX_NOTE_LENGTH = 1000
MAL_PICTURE_HOSTS: frozenset[str] = frozenset({"cdn.myanimelist.net"})
MAL_PAGE_HOSTS: frozenset[str] = frozenset({"myanimelist.net"})

# Bidi embeddings/overrides/isolates and marks: they reorder what a reader sees.
BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
_LINE_BREAKS = re.compile(r"\r\n|[\r\n\u2028\u2029\x85\x0b\x0c]")
_SPACES = re.compile(r"[^\S\n]+")
_BLANK_LINES = re.compile(r"\n{3,}")
_ISO_DATE = re.compile(
    r"^\d{4}(-\d{2}(-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?)?)?$"
)


def is_note(item: dict[str, Any]) -> bool:
    """A ``crawl_error`` that records refused values of a page that WAS read."""
    return item.get("item_type") == "crawl_error" and str(item.get("reason") or "").startswith(
        NOTE_PREFIX
    )


@dataclass
class Notes:
    """What bounding changed on one page, as short ``field: reason`` strings."""

    entries: list[str] = field(default_factory=list)

    def add(self, name: str, reason: str) -> None:
        self.entries.append(f"{name}: {reason}")

    def reason(self) -> str | None:
        if not self.entries:
            return None
        text = NOTE_PREFIX + "; ".join(dict.fromkeys(self.entries))
        return text if len(text) <= MAX_NOTE_LENGTH else text[: MAX_NOTE_LENGTH - 3] + "..."


# ---- numbers ---------------------------------------------------------------------------------


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:20]}...({len(text)} chars)"


def bounded_int(value: Any, low: int, high: int, name: str, notes: Notes) -> int | None:
    """``value`` if it is a whole number in ``[low, high]``; else None (and a note)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        notes.add(name, f"not a number: {_shown(value)}")
        return None
    if isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            notes.add(name, f"not a whole number: {_shown(value)}")
            return None
        value = int(value)
    if value == UNREADABLE_NUMBER:
        notes.add(name, "unreadable number (too many digits, or not finite)")
        return None
    if not low <= value <= high:
        notes.add(name, f"{_shown(value)} outside [{low}, {high}]")
        return None
    return value


def bounded_float(value: Any, low: float, high: float, name: str, notes: Notes) -> float | None:
    """``value`` as a finite float in ``[low, high]``; else None (and a note)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        notes.add(name, f"not a number: {_shown(value)}")
        return None
    try:
        number = float(value)
    except OverflowError:  # an int too large for a float
        number = math.inf
    if not math.isfinite(number) or not low <= number <= high:
        notes.add(name, f"{_shown(value)} outside [{low}, {high}]")
        return None
    return number


# ---- text ------------------------------------------------------------------------------------


# Control characters (C0, DEL, C1) but tab and newline, lone surrogates, bidi controls, BOM.
_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]"
)


def bounded_text(
    value: Any, cap: int, name: str, notes: Notes, multiline: bool = False
) -> str | None:
    """Clean, capped text: None for non-text or nothing left.

    Line breaks become spaces unless ``multiline``; tabs and runs of spaces become one space.
    """
    if value is None:
        return None
    if not isinstance(value, str):
        notes.add(name, f"not text: {type(value).__name__}")
        return None
    cut = False
    if len(value) > 4 * cap + 64:  # far too long: cut before cleaning (cleaning only shrinks)
        notes.add(name, f"cut from {len(value)} to {cap} characters")
        value, cut = value[: 4 * cap + 64], True
    text = _LINE_BREAKS.sub("\n", value)
    if not multiline and "\n" in text:
        notes.add(name, "line breaks removed")
        text = text.replace("\n", " ")
    text, removed = _UNSAFE.subn("", text)
    if removed:
        notes.add(name, f"{removed} control/bidi characters removed")
    text = _SPACES.sub(" ", text.replace("\xa0", " "))
    if multiline:
        text = _BLANK_LINES.sub("\n\n", "\n".join(line.strip() for line in text.split("\n")))
    text = text.strip()
    if len(text) > cap:
        if not cut:
            notes.add(name, f"cut from {len(text)} to {cap} characters")
        text = text[:cap].rstrip()
    return text or None


def bounded_username(value: Any, name: str, notes: Notes) -> str | None:
    """A MAL username (2-16 letters, digits, '_' or '-'), else None."""
    if value is None:
        return None
    if not isinstance(value, str) or not USERNAME_RE.fullmatch(value):
        notes.add(name, f"not a MAL username: {_shown(value)}")
        return None
    return value


def bounded_date(value: Any, name: str, notes: Notes) -> str | None:
    """An ISO-8601 date or timestamp (full or partial) as ``dates.py`` writes them, else None."""
    if value is None:
        return None
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value.strip()):
        notes.add(name, f"not an ISO date: {_shown(value)}")
        return None
    return value.strip()


# MAL's age ratings by every spelling a source uses: the API's codes ("pg_13", "r+"), the
# labels the pages and Jikan show, and the labels' short form ("PG-13", as load.json has it).
_AGE_RATING_SPELLINGS: dict[str, str] = {
    **AGE_RATINGS,
    **{label.lower(): label for label in AGE_RATINGS.values()},
    **{label.split(" - ")[0].lower(): label for label in AGE_RATINGS.values()},
}
# What MAL shows where an anime has no rating yet: missing, not refused.
_NO_AGE_RATING = frozenset({"", "none", "unknown", "n/a", "?"})


def bounded_age_rating(value: Any, name: str, notes: Notes) -> str | None:
    """MAL's age rating as its label (``contracts.landing.AGE_RATINGS``); anything else None."""
    if value is None:
        return None
    if not isinstance(value, str):
        notes.add(name, f"not text: {type(value).__name__}")
        return None
    key = " ".join(value[:200].split()).lower()
    label = _AGE_RATING_SPELLINGS.get(key)
    if label is None and key not in _NO_AGE_RATING:
        notes.add(name, f"not a MAL age rating: {_shown(value)}")
    return label


def bounded_url(value: Any, hosts: Iterable[str], cap: int, name: str, notes: Notes) -> str | None:
    """An http(s) URL on one of ``hosts`` (``host`` or ``host:port``), else None."""
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > cap or _UNSAFE.search(value):
        notes.add(name, f"not a usable URL: {_shown(value)}")
        return None
    text = value.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        notes.add(name, f"not a usable URL: {_shown(value)}")
        return None
    host = (parts.hostname or "").lower()
    default_port = {"http": 80, "https": 443}.get(parts.scheme)
    netloc = host if port is None or port == default_port else f"{host}:{port}"
    if (
        default_port is None
        or " " in text
        or parts.username is not None
        or parts.password is not None
        or netloc not in set(hosts)
    ):
        notes.add(name, f"URL not on an allowed host: {_shown(value)}")
        return None
    return text


def bounded_list(
    values: Any, limit: int, element: Callable[[Any, str, Notes], Any], name: str, notes: Notes
) -> list[Any] | None:
    """Each element bounded (refused ones dropped); at most ``limit`` of them."""
    if values is None:
        return None
    if not isinstance(values, list | tuple):
        notes.add(name, f"not a list: {type(values).__name__}")
        return None
    kept = [v for v in (element(x, name, notes) for x in values) if v is not None]
    if len(kept) > limit:
        notes.add(name, f"{len(kept)} entries cut to {limit}")
        kept = kept[:limit]
    return kept


# ---- per-field rules -------------------------------------------------------------------------

Rule = Callable[[Any, str, Notes, "Limits"], Any]


@dataclass(frozen=True)
class Limits:
    """What the environment decides: the hosts pictures may come from."""

    picture_hosts: frozenset[str] = MAL_PICTURE_HOSTS
    page_hosts: frozenset[str] = MAL_PAGE_HOSTS


def _int(low: int, high: int = MAX_EXCLUSIVE - 1) -> Rule:
    return lambda v, n, notes, _: bounded_int(v, low, high, n, notes)


def _float(low: float, high: float) -> Rule:
    return lambda v, n, notes, _: bounded_float(v, low, high, n, notes)


def _text(cap: int, multiline: bool = False) -> Rule:
    return lambda v, n, notes, _: bounded_text(v, cap, n, notes, multiline)


def _texts(cap: int, limit: int) -> Rule:
    return lambda v, n, notes, _: bounded_list(
        v, limit, lambda x, n2, nn: bounded_text(x, cap, n2, nn), n, notes
    )


IDENTIFIER = _int(1)
COUNT = _int(0)
RANK = _int(1)
SCORE = _int(1, 10)
LIST_SCORE = _int(0, 10)  # user_anime.score: 0 = not scored
TITLE_CAP = 300
SYNOPSIS_CAP = 10_000
NAME_CAP = 100
LABEL_CAP = 64
URL_CAP = 512


def _username(v: Any, n: str, notes: Notes, _: Limits) -> str | None:
    return bounded_username(v, n, notes)


def _date(v: Any, n: str, notes: Notes, _: Limits) -> str | None:
    return bounded_date(v, n, notes)


def _age_rating(v: Any, n: str, notes: Notes, _: Limits) -> str | None:
    return bounded_age_rating(v, n, notes)


def _picture(v: Any, n: str, notes: Notes, limits: Limits) -> str | None:
    return bounded_url(v, limits.picture_hosts, URL_CAP, n, notes)


def _pictures(v: Any, n: str, notes: Notes, limits: Limits) -> list[str] | None:
    return bounded_list(
        v, 500, lambda x, n2, nn: bounded_url(x, limits.picture_hosts, URL_CAP, n2, nn), n, notes
    )


def _mal_page(v: Any, n: str, notes: Notes, limits: Limits) -> str | None:
    return bounded_url(v, limits.page_hosts, URL_CAP, n, notes)


def _identifiers(limit: int) -> Rule:
    return lambda v, n, notes, _: bounded_list(
        v, limit, lambda x, n2, nn: bounded_int(x, 1, MAX_EXCLUSIVE - 1, n2, nn), n, notes
    )


def _status_code(v: Any, n: str, notes: Notes, _: Limits) -> int | None:
    return bounded_int(v, 100, 599, n, notes)


# Field -> rule; (item_type, field) overrides where one name means two things.
FIELD_RULES: dict[str, Rule] = {
    "crawl_date": _date,
    "source": _text(8),
    "url": _text(2048),
    "item_id": _text(64),  # a hex digest given by ItemIdPipeline (crawler.items.item_id)
    "anime_id": IDENTIFIER,
    "animeA": IDENTIFIER,
    "animeB": IDENTIFIER,
    "review_id": IDENTIFIER,
    "anime_url": _text(URL_CAP),
    "user_url": _text(URL_CAP),
    "title": _text(TITLE_CAP),
    "synopsis": _text(SYNOPSIS_CAP, multiline=True),
    "main_pic": _picture,
    "pics": _pictures,
    "type": _text(LABEL_CAP),
    "source_type": _text(LABEL_CAP),
    "status": _text(LABEL_CAP),
    "premiered": _text(LABEL_CAP),
    "relation_type": _text(LABEL_CAP),
    "studios": _texts(NAME_CAP, 50),
    "genres": _texts(NAME_CAP, 50),
    "clubs": _texts(200, 1000),
    "review_tags": _texts(LABEL_CAP, 20),
    "num_episodes": COUNT,
    "score": _float(1.0, 10.0),
    "score_count": COUNT,
    "score_rank": RANK,
    "popularity_rank": RANK,
    "members_count": COUNT,
    "favorites_count": COUNT,
    "rating": _age_rating,
    "recommendation_url": _mal_page,
    "num_recommenders": COUNT,
    "review_num_useful": COUNT,
    "review_score": SCORE,
    "review_story_score": SCORE,
    "review_animation_score": SCORE,
    "review_sound_score": SCORE,
    "review_character_score": SCORE,
    "review_enjoyment_score": SCORE,
    "user_id": _username,
    "userA": _username,
    "userB": _username,
    "num_days": _float(0.0, float(MAX_EXCLUSIVE - 1)),
    "mean_score": _float(0.0, 10.0),  # MAL shows 0.00 for a user with nothing scored
    "favorite_anime_ids": _identifiers(500),
    "progress": COUNT,
    "episode": COUNT,
    "page_type": _text(LABEL_CAP),
    "status_code": _status_code,
    "reason": _text(MAX_NOTE_LENGTH),
    **{f"{s}_count": COUNT for s in ("watching", "completed", "on_hold", "dropped")},
    **{f"{s}_count": COUNT for s in ("plan_to_watch", "total")},
    **{f"score_{n:02d}_count": COUNT for n in range(1, 11)},
    **{f"num_{s}": COUNT for s in ("watching", "completed", "on_hold", "dropped")},
    "num_plan_to_watch": COUNT,
    **{name: _date for name in ("start_date", "end_date", "last_online_date", "join_date")},
    **{name: _date for name in ("review_date", "history_date", "friendship_date")},
    "last_interaction_date": _date,
    # re-crawl snapshots (contracts.landing SNAPSHOT_SETS) and gone pages
    "snapshot_id": _text(LABEL_CAP),
    "parent_kind": _text(16),
    "parent_id": _text(LABEL_CAP),
    "set_name": _text(LABEL_CAP),
    "complete": _int(0, 1),
    "item_count": COUNT,
}
ITEM_RULES: dict[tuple[str, str], Rule] = {
    ("user_anime", "score"): LIST_SCORE,
}


def rule_for(item_type: str, name: str) -> Rule | None:
    return ITEM_RULES.get((item_type, name)) or FIELD_RULES.get(name)


def bound_item(item: dict[str, Any], notes: Notes, limits: Limits = Limits()) -> dict[str, Any]:
    """``item`` with every field bounded by its rule (a field without a rule is refused)."""
    item_type = str(item.get("item_type"))
    bounded: dict[str, Any] = {"item_type": item_type}
    for name, value in item.items():
        if name == "item_type":
            continue
        rule = rule_for(item_type, name)
        if rule is None:
            raise KeyError(f"no bound for {item_type}.{name}")
        bounded[name] = rule(value, f"{item_type}.{name}", notes, limits)
    return bounded
