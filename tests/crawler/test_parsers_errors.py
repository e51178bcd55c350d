"""Bad pages never raise out of parse_response: they become crawl_error items."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from crawler.parsers import UnroutableUrlError, build_response, parse_response

NOW = datetime(2026, 1, 17, tzinfo=UTC)
MAL = "https://myanimelist.net"


def only_error(url: str, body: bytes, status: int = 200) -> dict:
    result = parse_response(build_response(url, body, status), NOW)
    (item,) = result.items
    assert item["item_type"] == "crawl_error" and item["url"] == url
    assert result.follow == [] and result.crawled == {"anime": set(), "profile": set()}
    return item


def test_truncated_real_page(mal_pages_dir: Path) -> None:
    body = (mal_pages_dir / "html" / "anime_6_trigun.html").read_bytes()
    item = only_error(f"{MAL}/anime/6/Trigun", body[: len(body) // 3])
    assert item["page_type"] == "anime" and "truncated" in item["reason"]


@pytest.mark.parametrize(
    ("url", "body"),
    [
        (f"{MAL}/anime/6/Trigun", b"<html><body><p>maintenance</p></body></html>"),
        (f"{MAL}/anime/6/T/stats", b"<html><body><h2>nothing</h2></body></html>"),
        (f"{MAL}/profile/sandshark", b"<html><body>nope</body></html>"),
        (f"{MAL}/history/sandshark", b"<html><body>nope</body></html>"),
        (f"{MAL}/animelist/x_y/load.json?offset=0", b'[{"status": 2'),
        (f"{MAL}/animelist/x_y/load.json?offset=0", b'[{"no_id": 1}]'),
        ("https://api.jikan.moe/v4/anime/6/full", b"<html>not json</html>"),
        ("https://api.jikan.moe/v4/anime/6/full", b'{"data": {"mal_id": 6}}'),
        (
            f"{MAL}/anime/1/x/reviews",
            b'<html><body><div id="content"><div class="review-element"></div></div></body></html>',
        ),
    ],
)
def test_malformed_pages_become_errors(url: str, body: bytes) -> None:
    assert only_error(url, body)["reason"]


def test_http_errors_become_errors() -> None:
    item = only_error(f"{MAL}/anime/6", b"<html><body>Too Many Requests</body></html>", 429)
    assert item["status_code"] == 429


def test_jikan_error_body_keeps_the_message(mal_pages_dir: Path) -> None:
    body = (mal_pages_dir / "jikan" / "jikanpy_v4_reviews_anime.json").read_bytes()
    url = "https://api.jikan.moe/v4/anime/1/reviews"
    for status in (500, 200):  # some proxies answer 200 with Jikan's error body
        item = only_error(url, body, status)
        assert item["status_code"] == 500 and "Unhandled Exception" in item["reason"]


def test_unroutable_url_raises_a_clear_error() -> None:
    with pytest.raises(UnroutableUrlError, match="no parser for URL"):
        parse_response(build_response(f"{MAL}/manga/1", b"<html></html>"), NOW)


def test_empty_studios_row_is_an_empty_list_not_the_add_some_link():
    from parsel import Selector

    from crawler.parsers.mal_anime import row_links

    row = Selector(
        text='<div class="spaceit_pad"><span class="dark_text">Studios:</span> None found, '
        '<a href="https://myanimelist.net/dbchanges.php?aid=1&amp;t=addstudio">add some</a></div>'
    ).css("div")[0]
    assert row_links({"Studios": row}, "Studios") == []
