"""Link shapes of MAL's pages, built on the replica's own base URL so a spider follows them."""

from __future__ import annotations

from mal_replica.index import WorldIndex


def anime_url(base: str, index: WorldIndex, pos: int, section: str = "") -> str:
    """The canonical /anime/<id>/<slug>[/<section>] MAL links to."""
    url = f"{base}/anime/{int(index.anime_ids[pos])}/{index.slugs[pos]}"
    return f"{url}/{section}" if section else url


def profile_url(base: str, name: str, section: str = "") -> str:
    return f"{base}/profile/{name}/{section}" if section else f"{base}/profile/{name}"


def pic_url(base: str, bucket: int, pic_id: int, large: bool = False) -> str:
    """A CDN-shaped picture URL; MAL's large variant ends in 'l'."""
    return f"{base}/images/anime/{int(bucket)}/{int(pic_id)}{'l' if large else ''}.jpg"


def user_image_url(base: str, user_id: int) -> str:
    return f"{base}/images/userimages/{int(user_id)}.jpg"


def main_pic(base: str, index: WorldIndex, pos: int) -> str:
    """An anime's first picture, or MAL's question-mark placeholder when it has none."""
    rows = index.pics_by_anime.rows(pos)
    if len(rows) == 0:
        return f"{base}/images/qm_50.gif"
    pics = index.t.pictures
    return pic_url(base, pics["bucket"][rows[0]], pics["pic_id"][rows[0]])
