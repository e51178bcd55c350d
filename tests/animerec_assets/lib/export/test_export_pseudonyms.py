"""Pseudonyms in the published dataset: no username in any file of a default export, the same
id across exports under one key, another id under another key, real names only on opt-in."""

from __future__ import annotations

import gzip
import hashlib
import hmac
import stat
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest
from export_fixture_tables import create_processed
from test_export_dataset import DATASET, NOW, DuckDBWarehouse

from animerec_assets.lib.export.dataset import export_processed
from animerec_assets.lib.export.pseudonyms import (
    KEY_FILE_NAME,
    REAL_USERNAMES,
    PseudonymKeyError,
    UsernamePolicy,
    local_key,
    pseudonym,
    pseudonym_sql,
    username_policy,
)
from animerec_assets.lib.export.sql import select_sql
from animerec_assets.lib.export.tables import Column
from animerec_assets.resources import export_target
from animerec_assets.settings import SettingsError, load_settings

USERNAMES = ("Alice", "bob")  # every username in the fixture's processed tables
KEY = b"the first key, long enough"
OTHER_KEY = b"another key, long enough too"


@pytest.fixture
def warehouse(tmp_path: Path) -> DuckDBWarehouse:
    database = tmp_path / "warehouse.duckdb"
    create_processed(database)
    return DuckDBWarehouse(database)


def exported_text(folder: Path) -> dict[str, str]:
    """Every file of an export version as text: Parquet read back (it is compressed), CSV
    unzipped, the card and metadata as they are."""
    texts = {}
    for path in sorted(folder.iterdir()):
        if path.suffix == ".parquet":
            with duckdb.connect() as connection:
                rows = connection.execute(f"select * from read_parquet('{path}')").fetchall()
            texts[path.name] = repr(rows)
        elif path.name.endswith(".gz"):
            texts[path.name] = gzip.decompress(path.read_bytes()).decode("utf-8")
        else:
            texts[path.name] = path.read_text(encoding="utf-8")
    return texts


def user_ids(folder: Path) -> list[tuple[str, str | None]]:
    with duckdb.connect() as connection:
        return connection.execute(
            f"select user_id, user_url from read_parquet('{folder / 'user.parquet'}') order by 1"
        ).fetchall()


def test_sql_and_python_compute_the_same_hmac() -> None:
    expected = "u_" + hmac.new(KEY, b"alice", hashlib.sha256).hexdigest()[:16]
    assert pseudonym(KEY, "Alice") == pseudonym(KEY, "ALICE") == expected
    long_key = b"k" * 100  # longer than a SHA-256 block: hashed first, as RFC 2104 says
    names = ["Alice", "bob", "Ünïcode_user", "x" * 300]
    with duckdb.connect() as connection:
        for key in (KEY, long_key):
            sql = pseudonym_sql("name", key, "duckdb")
            rows = connection.execute(
                f"select {sql} from unnest(?::VARCHAR[]) as t(name)", [names]
            ).fetchall()
            assert [row[0] for row in rows] == [pseudonym(key, name) for name in names]
        assert connection.execute(f"select {pseudonym_sql('null', KEY, 'duckdb')}").fetchone() == (
            None,
        )


def test_a_default_export_contains_no_username(warehouse: DuckDBWarehouse, tmp_path: Path) -> None:
    policy = username_policy(None, real_usernames=False, home=tmp_path / "home")
    result = export_processed(warehouse, tmp_path / "export", DATASET, NOW, usernames=policy)
    texts = exported_text(Path(result.location))
    assert len(texts) == 12  # five tables in two formats, the card, the Kaggle metadata
    for name, text in texts.items():
        for username in USERNAMES:
            assert username.lower() not in text.lower(), f"{username} appears in {name}"
    assert "profile/" not in texts["user.csv.gz"]
    ids = user_ids(Path(result.location))
    assert ids == sorted((pseudonym(policy.key or b"", name), None) for name in USERNAMES)
    friends = Path(result.location) / "user_user.parquet"
    with duckdb.connect() as connection:
        pairs = connection.execute(f"select userA, userB from read_parquet('{friends}')").fetchall()
    assert {a for a, _ in pairs} == {b for _, b in pairs} == {user for user, _ in ids}
    assert "No username is published" in texts["README.md"]


def test_the_same_key_gives_the_same_ids_and_another_key_other_ids(
    warehouse: DuckDBWarehouse, tmp_path: Path
) -> None:
    first = export_processed(warehouse, tmp_path / "a", DATASET, NOW, usernames=UsernamePolicy(KEY))
    later = datetime(2024, 7, 1, tzinfo=UTC)
    again = export_processed(
        warehouse, tmp_path / "b", DATASET, later, usernames=UsernamePolicy(KEY)
    )
    other = export_processed(
        warehouse, tmp_path / "c", DATASET, NOW, usernames=UsernamePolicy(OTHER_KEY)
    )
    same, rerun, changed = (user_ids(Path(r.location)) for r in (first, again, other))
    assert same == rerun
    assert not {user for user, _ in same} & {user for user, _ in changed}
    assert len({user for user, _ in changed}) == len(USERNAMES)


def test_real_usernames_only_on_opt_in(warehouse: DuckDBWarehouse, tmp_path: Path) -> None:
    result = export_processed(
        warehouse, tmp_path / "export", DATASET, NOW, usernames=REAL_USERNAMES
    )
    ids = user_ids(Path(result.location))
    assert ids == [("Alice", "https://myanimelist.net/profile/Alice"),
                   ("bob", "https://myanimelist.net/profile/bob")]  # fmt: skip
    assert "publishes real MyAnimeList usernames" in result.card


def test_the_local_key_is_generated_once_and_private(tmp_path: Path) -> None:
    key = local_key(tmp_path)
    assert local_key(tmp_path) == key and len(key) == 64
    mode = (tmp_path / KEY_FILE_NAME).stat().st_mode
    assert stat.S_IMODE(mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == [KEY_FILE_NAME]  # no temporary left
    assert username_policy("configured-and-long-enough", False, tmp_path).key == (
        b"configured-and-long-enough"
    )
    with pytest.raises(PseudonymKeyError):
        username_policy("short", False, tmp_path)


def test_prod_needs_a_key_unless_real_usernames_are_chosen(
    prod_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in prod_env.items():
        monkeypatch.setenv(name, value)
    settings = load_settings()
    assert "a-test-key" not in repr(settings)
    target = export_target(settings)
    assert target.username_policy().key == prod_env["ANIMEREC_EXPORT_PSEUDONYM_KEY"].encode()
    monkeypatch.delenv("ANIMEREC_EXPORT_PSEUDONYM_KEY")
    with pytest.raises(SettingsError, match="ANIMEREC_EXPORT_PSEUDONYM_KEY"):
        load_settings()
    monkeypatch.setenv("ANIMEREC_EXPORT_REAL_USERNAMES", "1")
    assert export_target(load_settings()).username_policy() == REAL_USERNAMES


def test_bigquery_select_pseudonymises_in_sql() -> None:
    columns = [Column("user_id", "STRING"), Column("user_url", "STRING")]
    replacements = {"user_id": pseudonym_sql("`user_id`", KEY, "bigquery"), "user_url": "null"}
    select = select_sql(
        "processed", "user", columns, "csv", "bigquery", "p", replacements=replacements
    )
    assert "to_hex(sha256(from_hex(" in select and "as `user_id`" in select
    assert "null as `user_url`" in select
