"""The one environment switch: where every stage reads and writes.

``ANIMEREC_ENV=local`` (the default) keeps everything embedded on one machine: a DuckDB
warehouse file, a SQLite scheduler database, an embedded Redis server and a local artifact
folder, all under ``ANIMEREC_HOME``. ``ANIMEREC_ENV=prod`` moves the same code onto BigQuery,
PostgreSQL, a Redis server and a GCS bucket. Any single setting may also be overridden by its
own variable (tests use that to point the local stack at the real PostgreSQL server).

This module is pure configuration: it imports nothing heavy, so the crawler, the app and the
CLI can read it without loading Dagster or TensorFlow.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TypedDict
from urllib.parse import urlsplit

from animerec_assets.contracts.feedback import DEFAULT_RETENTION_DAYS, RETENTION_DAYS_ENV

Environment = Literal["local", "prod"]
ENVIRONMENTS: tuple[Environment, ...] = ("local", "prod")

MAL_BASE_URL = "https://myanimelist.net"
JIKAN_BASE_URL = "https://api.jikan.moe/v4"
MAL_API_BASE_URL = "https://api.myanimelist.net/v2"
CrawlSource = Literal["mal", "jikan", "malapi"]
CRAWL_SOURCES: tuple[CrawlSource, ...] = ("mal", "jikan", "malapi")
MAL_PICTURE_HOST = "cdn.myanimelist.net"
CRAWLER_SERVICE_URL = "http://127.0.0.1:8765"
KAGGLE_DATASET = "animerec/myanimelist-anime-recommendations"


class SettingsError(RuntimeError):
    """A required setting is missing or malformed."""


@dataclass(frozen=True)
class Settings:
    env: Environment
    home: Path
    # warehouse
    warehouse: Literal["duckdb", "bigquery"]
    duckdb_path: Path
    gcp_project: str | None
    bigquery_location: str | None
    dbt_target: str
    # crawl scheduler database (SQLAlchemy URL)
    scheduler_db_url: str
    # Redis: None means "start/use the embedded server under home"
    redis_url: str | None
    # model artifacts: a folder locally, gs://bucket/prefix in production
    artifact_uri: str
    # where the crawler fetches from (MAL itself, or the local replica)
    mal_base_url: str
    jikan_base_url: str
    mal_api_base_url: str
    crawl_source: CrawlSource
    # the client id MAL's API v2 asks for (header X-MAL-CLIENT-ID); needed for source malapi
    mal_client_id: str | None
    # the crawl web service (crawler/service.py); the app asks it to enqueue unknown users
    crawler_service_url: str
    # Dagster instance storage: None means SQLite under DAGSTER_HOME
    dagster_pg_url: str | None
    # Scrapy settings layered over crawler/settings.py (e.g. no delay against the local replica)
    scrapy_overrides: dict[str, object] = field(default_factory=dict)
    # the Kaggle dataset the export stage describes ("<owner>/<slug>")
    kaggle_dataset: str = KAGGLE_DATASET
    # bearer token of the crawl web service (ANIMEREC_SERVICE_TOKEN): the service requires it
    # when set (and refuses to start in prod without it); the app sends it
    crawler_service_token: str | None = field(default=None, repr=False)
    # the export's pseudonym key (ANIMEREC_EXPORT_PSEUDONYM_KEY; the export resource reads the
    # variable itself at run time); None locally means the key generated once under
    # ANIMEREC_HOME (lib/export/pseudonyms.py). Required in prod.
    export_pseudonym_key: str | None = field(default=None, repr=False)
    # ANIMEREC_EXPORT_REAL_USERNAMES=1: publish real usernames instead of pseudonyms (opt-in)
    export_real_usernames: bool = False
    # browser origins the JSON API answers with CORS headers (ANIMEREC_API_CORS_ORIGINS,
    # comma-separated); none by default: other apps' pages cannot read the API from a browser
    api_cors_origins: tuple[str, ...] = ()
    # the public JSON API (api/server.py) as visitors reach it (ANIMEREC_API_URL): when set, the
    # app links each card through its /v1/go click recorder; None links straight to MAL
    api_url: str | None = None
    # the app as visitors reach it (ANIMEREC_APP_URL): the API's answer for an unknown user
    # points there (``/?user=NAME``) to ask for a crawl; None gives no link
    app_url: str | None = None
    # days visitors' feedback events are kept (ANIMEREC_FEEDBACK_RETENTION_DAYS): older ones
    # are dropped from the stream, landing and the feedback tables
    feedback_retention_days: int = DEFAULT_RETENTION_DAYS

    @property
    def embedded_redis_dir(self) -> Path:
        return self.home / "redis"

    @property
    def export_dir(self) -> Path:
        return self.home / "export"

    @property
    def crawl_output_dir(self) -> Path:
        return self.home / "crawl"

    @property
    def crawl_hosts(self) -> frozenset[str]:
        """``host[:port]`` the crawler may fetch from: MAL, Jikan, MAL's API, and the configured
        base URLs (the local replica). Anything else is off-host (``crawler.middlewares``)."""
        return frozenset(
            _netloc(url)
            for url in (
                MAL_BASE_URL,
                JIKAN_BASE_URL,
                MAL_API_BASE_URL,
                self.mal_base_url,
                self.jikan_base_url,
                self.mal_api_base_url,
            )
        )

    @property
    def picture_hosts(self) -> frozenset[str]:
        """``host[:port]`` crawled picture URLs may point at: MAL's CDN, and the configured MAL
        host when it is not MAL's own (the local replica serves its pictures itself)."""
        hosts = {MAL_PICTURE_HOST}
        if self.mal_base_url != MAL_BASE_URL:
            hosts.add(_netloc(self.mal_base_url))
        return frozenset(hosts)


def _netloc(url: str) -> str:
    """``host`` or ``host:port`` of a URL, lower-cased, default ports dropped."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    port = parts.port
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return host if port is None or port == default else f"{host}:{port}"


class _SharedSettings(TypedDict):
    """The settings both environments decide the same way (typed, so ``**`` keeps the types)."""

    home: Path
    duckdb_path: Path
    mal_base_url: str
    jikan_base_url: str
    mal_api_base_url: str
    crawl_source: CrawlSource
    mal_client_id: str | None
    crawler_service_url: str
    scrapy_overrides: dict[str, object]
    kaggle_dataset: str
    crawler_service_token: str | None
    export_pseudonym_key: str | None
    export_real_usernames: bool
    api_cors_origins: tuple[str, ...]
    api_url: str | None
    app_url: str | None
    feedback_retention_days: int


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or default


def _required(name: str, env: str) -> str:
    value = _env(name)
    if value is None:
        raise SettingsError(f"{name} must be set when ANIMEREC_ENV={env}")
    return value


def _flag(name: str) -> bool:
    value = (_env(name, "0") or "0").lower()
    if value in ("1", "true", "yes"):
        return True
    if value in ("0", "false", "no"):
        return False
    raise SettingsError(f"{name} must be 1 or 0, got {value!r}")


def _retention_days() -> int:
    raw = _env(RETENTION_DAYS_ENV)
    if raw is None:
        return DEFAULT_RETENTION_DAYS
    if not raw.isdigit() or not 1 <= int(raw) <= 36_500:
        raise SettingsError(
            f"{RETENTION_DAYS_ENV} must be a whole number of days >= 1, got {raw!r}"
        )
    return int(raw)


def _scrapy_overrides() -> dict[str, object]:
    raw = _env("ANIMEREC_SCRAPY_SETTINGS")
    if raw is None:
        return {}
    try:
        parsed = json.loads(raw)
    except json.JSONDecodeError as error:
        raise SettingsError(f"ANIMEREC_SCRAPY_SETTINGS must be a JSON object: {error}") from error
    if not isinstance(parsed, dict):
        raise SettingsError("ANIMEREC_SCRAPY_SETTINGS must be a JSON object")
    return parsed


def load_settings(env: str | None = None, serving_only: bool = False) -> Settings:
    """Read the environment once and decide every backend from ``ANIMEREC_ENV``.

    ``serving_only``: for the public JSON API, which only reads Redis. In production its pods are
    given REDIS_URL and nothing else of the secrets (deploy/k8s/api.yaml), so the variables the
    pipeline needs (warehouse, scheduler, artifacts, export key) are not required, and stay empty.
    """
    chosen = (env or _env("ANIMEREC_ENV", "local") or "local").lower()
    if chosen not in ENVIRONMENTS:
        raise SettingsError(f"ANIMEREC_ENV must be one of {ENVIRONMENTS}, got {chosen!r}")
    home = Path(_env("ANIMEREC_HOME", str(Path.cwd() / "data")) or "data").expanduser().resolve()
    crawl_source_name = (_env("ANIMEREC_CRAWL_SOURCE", "mal") or "mal").lower()
    crawl_source = next((s for s in CRAWL_SOURCES if s == crawl_source_name), None)
    if crawl_source is None:
        raise SettingsError(
            f"ANIMEREC_CRAWL_SOURCE must be one of {CRAWL_SOURCES}, got {crawl_source_name!r}"
        )
    common = _SharedSettings(
        home=home,
        duckdb_path=Path(_env("ANIMEREC_DUCKDB_PATH") or home / "warehouse.duckdb"),
        mal_base_url=(_env("ANIMEREC_MAL_BASE_URL", MAL_BASE_URL) or MAL_BASE_URL).rstrip("/"),
        jikan_base_url=(_env("ANIMEREC_JIKAN_BASE_URL", JIKAN_BASE_URL) or JIKAN_BASE_URL).rstrip(
            "/"
        ),
        mal_api_base_url=(
            _env("ANIMEREC_MAL_API_BASE_URL", MAL_API_BASE_URL) or MAL_API_BASE_URL
        ).rstrip("/"),
        crawl_source=crawl_source,
        mal_client_id=_env("ANIMEREC_MAL_CLIENT_ID"),
        crawler_service_url=(
            _env("ANIMEREC_CRAWLER_SERVICE_URL", CRAWLER_SERVICE_URL) or CRAWLER_SERVICE_URL
        ).rstrip("/"),
        scrapy_overrides=_scrapy_overrides(),
        kaggle_dataset=_env("ANIMEREC_KAGGLE_DATASET", KAGGLE_DATASET) or KAGGLE_DATASET,
        crawler_service_token=_env("ANIMEREC_SERVICE_TOKEN"),
        export_pseudonym_key=_env("ANIMEREC_EXPORT_PSEUDONYM_KEY"),
        export_real_usernames=_flag("ANIMEREC_EXPORT_REAL_USERNAMES"),
        api_cors_origins=tuple(
            origin.strip()
            for origin in (_env("ANIMEREC_API_CORS_ORIGINS", "") or "").split(",")
            if origin.strip()
        ),
        api_url=(_env("ANIMEREC_API_URL") or "").rstrip("/") or None,
        app_url=(_env("ANIMEREC_APP_URL") or "").rstrip("/") or None,
        feedback_retention_days=_retention_days(),
    )
    if chosen == "local":
        return Settings(
            env="local",
            warehouse="duckdb",
            gcp_project=_env("GCP_PROJECT"),
            bigquery_location=_env("BIGQUERY_LOCATION"),
            dbt_target="local",
            scheduler_db_url=_env(
                "ANIMEREC_SCHEDULER_DB_URL", f"sqlite:///{home / 'scheduler.sqlite'}"
            )
            or "",
            redis_url=_env("REDIS_URL"),
            artifact_uri=_env("ANIMEREC_ARTIFACT_URI", str(home / "artifacts")) or "",
            dagster_pg_url=_env("DAGSTER_PG_URL"),
            **common,
        )
    if serving_only:
        return Settings(
            env="prod",
            warehouse="bigquery",
            gcp_project=None,
            bigquery_location=None,
            dbt_target="prod",
            scheduler_db_url="",
            redis_url=_required("REDIS_URL", "prod"),
            artifact_uri="",
            dagster_pg_url=None,
            **common,
        )
    prod = Settings(
        env="prod",
        warehouse="bigquery",
        gcp_project=_required("GCP_PROJECT", "prod"),
        bigquery_location=_env("BIGQUERY_LOCATION", "US"),
        dbt_target="prod",
        scheduler_db_url=_required("ANIMEREC_SCHEDULER_DB_URL", "prod"),
        redis_url=_required("REDIS_URL", "prod"),
        artifact_uri=_required("ANIMEREC_ARTIFACT_URI", "prod"),
        dagster_pg_url=_env("DAGSTER_PG_URL"),
        **common,
    )
    if prod.crawl_source == "malapi" and not prod.mal_client_id:
        raise SettingsError(
            "ANIMEREC_MAL_CLIENT_ID must be set when ANIMEREC_CRAWL_SOURCE=malapi (MAL's API v2 "
            "refuses requests without a client id; deploy/k8s/secrets.example.yaml holds it)"
        )
    if prod.export_pseudonym_key is None and not prod.export_real_usernames:
        raise SettingsError(
            "ANIMEREC_EXPORT_PSEUDONYM_KEY must be set when ANIMEREC_ENV=prod (or opt in to "
            "publishing real usernames with ANIMEREC_EXPORT_REAL_USERNAMES=1)"
        )
    return prod
