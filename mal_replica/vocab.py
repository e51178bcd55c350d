"""Fixed vocabularies of the synthetic MAL world (genres, studios, name parts).

Kept apart from the generator so the world model reads as arithmetic on arrays, and so the
pages and the Jikan API can map ids back to the names MAL would show.
"""

from __future__ import annotations

import re

# (MAL genre id, name, row on the anime page). MAL splits its tags into Genres, Themes and a
# Demographic; every one is a `span[itemprop=genre]`, so the crawl reads them as one list.
GENRES: tuple[tuple[int, str, str], ...] = (
    (1, "Action", "Genres"),
    (2, "Adventure", "Genres"),
    (4, "Comedy", "Genres"),
    (8, "Drama", "Genres"),
    (10, "Fantasy", "Genres"),
    (14, "Horror", "Genres"),
    (7, "Mystery", "Genres"),
    (22, "Romance", "Genres"),
    (24, "Sci-Fi", "Genres"),
    (36, "Slice of Life", "Genres"),
    (30, "Sports", "Genres"),
    (37, "Supernatural", "Genres"),
    (41, "Suspense", "Genres"),
    (47, "Gourmet", "Genres"),
    (46, "Award Winning", "Genres"),
    (50, "Adult Cast", "Theme"),
    (62, "Isekai", "Theme"),
    (18, "Mecha", "Theme"),
    (38, "Military", "Theme"),
    (19, "Music", "Theme"),
    (13, "Historical", "Theme"),
    (40, "Psychological", "Theme"),
    (23, "School", "Theme"),
    (29, "Space", "Theme"),
    (31, "Super Power", "Theme"),
    (17, "Martial Arts", "Theme"),
    (63, "Iyashikei", "Theme"),
    (60, "Idols (Female)", "Theme"),
    (27, "Shounen", "Demographic"),
    (42, "Seinen", "Demographic"),
    (25, "Shoujo", "Demographic"),
    (43, "Josei", "Demographic"),
    (15, "Kids", "Demographic"),
)
GENRE_INDEX = {name: i for i, (_, name, _) in enumerate(GENRES)}
GENRE_IDS = {name: gid for gid, name, _ in GENRES}
GENRE_ROW = {name: row for _, name, row in GENRES}

# Latent taste groups: the core tags an anime of the group carries. Users mostly watch inside
# one or two groups, which is what makes the world learnable by a recommender.
TASTE_ARCHETYPES: tuple[tuple[str, ...], ...] = (
    ("Action", "Adventure", "Super Power", "Shounen"),
    ("Sports", "School", "Shounen"),
    ("Romance", "School", "Shoujo"),
    ("Sci-Fi", "Mecha", "Military"),
    ("Slice of Life", "Iyashikei", "Comedy"),
    ("Horror", "Suspense", "Supernatural", "Seinen"),
    ("Fantasy", "Isekai", "Adventure"),
    ("Comedy", "School", "Romance"),
    ("Mystery", "Psychological", "Suspense", "Seinen"),
    ("Music", "Idols (Female)", "Slice of Life"),
    ("Historical", "Martial Arts", "Action", "Seinen"),
    ("Adventure", "Fantasy", "Kids"),
    ("Drama", "Romance", "Josei", "Adult Cast"),
    ("Space", "Sci-Fi", "Adventure", "Award Winning"),
    ("Gourmet", "Slice of Life", "Comedy"),
    ("Action", "Sci-Fi", "Adult Cast", "Seinen"),
)

# (producer id, studio name) — ids are the replica's own; the link shape is MAL's.
STUDIOS: tuple[tuple[int, str], ...] = (
    (11, "Madhouse"),
    (14, "Sunrise"),
    (4, "Bones"),
    (43, "ufotable"),
    (44, "Shaft"),
    (56, "A-1 Pictures"),
    (858, "Wit Studio"),
    (569, "MAPPA"),
    (2, "Kyoto Animation"),
    (7, "J.C.Staff"),
    (8, "Artland"),
    (10, "Production I.G"),
    (18, "Toei Animation"),
    (21, "Studio Ghibli"),
    (37, "Studio Deen"),
    (103, "Tatsunoko Production"),
    (287, "David Production"),
    (803, "Trigger"),
    (1835, "CloverWorks"),
    (314, "White Fox"),
    (456, "Lerche"),
    (1127, "Studio Bind"),
    (1993, "Studio Kiwi"),
    (2001, "Studio Hoshizora"),
    (2002, "Animation Do Lantern"),
    (2003, "Komorebi Works"),
    (2004, "Studio Tsubame"),
    (2005, "Aozora Pictures"),
)
STUDIO_IDS = {name: sid for sid, name in STUDIOS}

TYPES: tuple[str, ...] = ("TV", "Movie", "OVA", "ONA", "Special", "Music")
TYPE_PROBS: tuple[float, ...] = (0.46, 0.13, 0.14, 0.13, 0.10, 0.04)
SOURCES: tuple[str, ...] = (
    "Manga",
    "Original",
    "Light novel",
    "Web manga",
    "Visual novel",
    "Novel",
    "Game",
    "4-koma manga",
    "Web novel",
    "Other",
)
SOURCE_PROBS: tuple[float, ...] = (0.34, 0.24, 0.12, 0.06, 0.05, 0.04, 0.05, 0.04, 0.04, 0.02)
RATINGS: tuple[str, ...] = (
    "G - All Ages",
    "PG - Children",
    "PG-13 - Teens 13 or older",
    "R - 17+ (violence & profanity)",
    "R+ - Mild Nudity",
)
# Given to a share of the catalogue from a stream of its own (generators.rate_adult_anime).
ADULT_RATING = "Rx - Hentai"

# MAL's anime-list status codes and the names used in the processed tables.
STATUS_CODES: tuple[int, ...] = (1, 2, 3, 4, 6)
STATUS_NAMES: dict[int, str] = {
    1: "watching",
    2: "completed",
    3: "on_hold",
    4: "dropped",
    6: "plan_to_watch",
}
STATUS_LABELS: dict[int, str] = {
    1: "Watching",
    2: "Completed",
    3: "On-Hold",
    4: "Dropped",
    6: "Plan to Watch",
}
AIRING_STATUS = ("Finished Airing", "Currently Airing", "Not yet aired")

# Relation types in symmetrical pairs: a crawl of either side sees the mirrored type.
RELATION_INVERSE: dict[str, str] = {
    "Sequel": "Prequel",
    "Prequel": "Sequel",
    "Side Story": "Parent Story",
    "Parent Story": "Side Story",
    "Spin-Off": "Parent Story",
    "Alternative Version": "Alternative Version",
    "Summary": "Full Story",
    "Full Story": "Summary",
    "Other": "Other",
    "Character": "Character",
}

TITLE_SYLLABLES: tuple[str, ...] = (
    "ka", "ki", "ku", "ko", "sa", "shi", "su", "so", "ta", "chi", "tsu", "to", "na", "ni",
    "no", "ha", "hi", "fu", "ho", "ma", "mi", "mu", "mo", "ya", "yu", "yo", "ra", "ri",
    "ru", "ro", "wa", "ga", "gi", "go", "za", "ji", "zu", "da", "de", "ba", "bi", "bo",
    "pa", "ryu", "kyo", "sho", "ren", "kai", "sei", "ten", "rin", "zen", "hana", "yama",
)  # fmt: skip
TITLE_WORDS: tuple[str, ...] = (
    "Monogatari", "Gakuen", "Senki", "no Hoshi", "Days", "Chronicle", "Academy", "Quest",
    "Legend", "Blade", "Memories", "Sky", "Garden", "Kingdom", "Frontier", "Club", "Diary",
    "Overdrive", "Symphony", "Shoujo", "Tantei", "Kitchen", "Signal", "Horizon", "Paradox",
)  # fmt: skip
FRANCHISE_SUFFIXES: dict[str, tuple[str, ...]] = {
    "TV": ("Season 2", "2nd Season", "Season 3", "Final Season", "Kan", "Zoku"),
    "Movie": ("Movie", "the Movie", "Gekijouban"),
    "OVA": ("OVA", "Specials"),
    "ONA": ("Web", "Mini"),
    "Special": ("Specials", "Recap"),
    "Music": ("Music Clip",),
}
USER_WORDS: tuple[str, ...] = (
    "neko", "otaku", "ramen", "sakura", "kitsune", "shadow", "pixel", "mecha", "moon", "star",
    "tanuki", "ronin", "yuki", "kuma", "akira", "hikari", "sora", "kaze", "ryuu", "momo",
    "blue", "nova", "lazy", "night", "mochi", "senpai", "baka", "hime", "tora", "kira", "zero",
    "echo", "rain", "frost", "ember", "lumen", "anime", "manga", "waifu", "chibi",
)  # fmt: skip
CLUB_PATTERNS: tuple[str, ...] = (
    "{tag} Fans",
    "{tag} Lovers Club",
    "The {tag} Society",
    "{tag} Appreciation",
    "{tag} Watch Party",
)
REVIEW_SENTENCES: tuple[str, ...] = (
    "The animation holds up well across the whole run.",
    "Its soundtrack carries the quieter episodes.",
    "The cast grows on you after the first few episodes.",
    "Pacing drags in the middle but the ending lands.",
    "I expected more from the source material.",
    "Every episode left me wanting the next one.",
    "The world building is the real star here.",
    "Some jokes miss, most of them hit.",
    "It does not reinvent the genre, but it does it well.",
    "A comfortable watch for a slow weekend.",
    "The villain is more interesting than the hero.",
    "Direction and storyboards are consistently sharp.",
)


def slugify(title: str) -> str:
    """MAL's URL slug: punctuation dropped, spaces and colons become underscores."""
    cleaned = re.sub(r"[()!?,.'\"&]", "", title)
    return re.sub(r"[^A-Za-z0-9]", "_", cleaned).strip("_") or "_"
