"""Card HTML from hostile crawled values: one line of escaped text, covers only from allowed
origins (the browser test checks what Chromium then shows)."""

from __future__ import annotations

from animerec_assets.lib.serving import AnimeCard
from app.cards import (
    MAL_CDN_ORIGIN,
    PLACEHOLDER_COVER,
    card_html,
    image_origins,
    plain_text,
    safe_image_url,
)

REPLICA = "http://127.0.0.1:8900"


def test_plain_text_is_one_visible_line() -> None:
    assert plain_text("Bebop\n\n![p](http://x/p.png)") == "Bebop ![p](http://x/p.png)"
    assert plain_text("evil\u202egnp.exe\u200b\x00\x1b[31m") == "evilgnp.exe [31m"
    assert len(plain_text("a" * 10_000)) == 200


def test_covers_come_only_from_mal_cdn_or_the_crawled_site() -> None:
    origins = image_origins(REPLICA)
    assert origins == {MAL_CDN_ORIGIN, REPLICA}
    assert image_origins("https://myanimelist.net") == {MAL_CDN_ORIGIN}
    cdn = "https://cdn.myanimelist.net/images/anime/4/19644.jpg"
    assert safe_image_url(cdn) == cdn
    assert safe_image_url(f"{REPLICA}/images/anime/1/1.jpg", origins).startswith(REPLICA)
    for hostile in (
        "http://x/p.png",
        "http://cdn.myanimelist.net/images/a.jpg",  # not https
        "https://cdn.myanimelist.net.evil.example/images/a.jpg",
        "https://cdn.myanimelist.net@evil.example/images/a.jpg",
        "https://cdn.myanimelist.net/images/../../admin",
        "https://cdn.myanimelist.net/other/a.jpg",
        'https://cdn.myanimelist.net/images/a.jpg" onerror="alert(1)',
        "javascript:alert(1)",
        f"{REPLICA}/images/a.jpg",  # the replica is allowed only when it is the crawled site
        None,
    ):
        assert safe_image_url(hostile) == PLACEHOLDER_COVER, hostile


def test_a_card_carries_no_markup_from_its_data() -> None:
    card = AnimeCard(
        anime_id=1,
        title="Bebop\n\n<img src=x onerror=alert(1)> [Log in](http://x/login)",
        main_pic="http://x/p.png",
        type="TV",
        score=8.5,
        genres=("<b>Action</b>",),
    )
    markup = card_html(1, card, reason="because\n\n**you**")
    assert "<img src=x" not in markup and "<b>" not in markup and "\n" not in markup
    assert "&lt;img src=x onerror=alert(1)&gt;" in markup
    assert "http://x/p.png" not in markup
    assert markup.count("<a ") == 2  # the title and "View on MyAnimeList", both to MAL
    assert markup.count('href="https://myanimelist.net/anime/1"') == 2
