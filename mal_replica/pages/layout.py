"""The frame every page shares (header, menu, footer) and the site pages: home, 404, robots."""

from __future__ import annotations

from html import escape


def e(value: object) -> str:
    """HTML-escape any value, quotes included (it may land in an attribute)."""
    return escape(str(value), quote=True)


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
