"""The one environment switch decides every backend."""

from __future__ import annotations

import pytest

from animerec_assets.settings import SettingsError, load_settings


def test_local_defaults_are_embedded(animerec_home):
    settings = load_settings()
    assert settings.env == "local"
    assert settings.warehouse == "duckdb"
    assert settings.duckdb_path == animerec_home / "warehouse.duckdb"
    assert settings.scheduler_db_url == f"sqlite:///{animerec_home / 'scheduler.sqlite'}"
    assert settings.redis_url is None  # the embedded server
    assert settings.artifact_uri == str(animerec_home / "artifacts")
    assert settings.dbt_target == "local"


def test_prod_switches_every_backend(monkeypatch, animerec_home, prod_env):
    for name, value in prod_env.items():
        monkeypatch.setenv(name, value)
    settings = load_settings()
    assert settings.warehouse == "bigquery"
    assert settings.gcp_project == "animerec-prod"
    assert settings.scheduler_db_url.startswith("postgresql+psycopg://")
    assert settings.redis_url == "redis://redis:6379/0"
    assert settings.artifact_uri.startswith("gs://")
    assert settings.dbt_target == "prod"


def test_prod_without_its_servers_says_what_is_missing(monkeypatch, animerec_home):
    monkeypatch.setenv("ANIMEREC_ENV", "prod")
    monkeypatch.delenv("GCP_PROJECT", raising=False)
    with pytest.raises(SettingsError, match="GCP_PROJECT must be set"):
        load_settings()


def test_unknown_environment_is_rejected(monkeypatch):
    monkeypatch.setenv("ANIMEREC_ENV", "staging")
    with pytest.raises(SettingsError, match="ANIMEREC_ENV must be one of"):
        load_settings()


def test_resources_follow_the_switch(monkeypatch, animerec_home, prod_env):
    from dagster_duckdb_pandas import DuckDBPandasIOManager
    from dagster_gcp_pandas import BigQueryPandasIOManager

    from animerec_assets.resources import build_resources

    local = build_resources(load_settings())
    assert isinstance(local["io_manager"], DuckDBPandasIOManager)
    assert local["dbt"].target == "local"
    for name, value in prod_env.items():
        monkeypatch.setenv(name, value)
    prod = build_resources(load_settings())
    assert isinstance(prod["io_manager"], BigQueryPandasIOManager)
    assert prod["io_manager"].project == "animerec-prod"
    assert prod["dbt"].target == "prod"
    assert prod["scheduler"].db_url.startswith("postgresql")
    assert prod["redis"].url == "redis://redis:6379/0"
    assert prod["artifacts"].uri == "gs://animerec-models/artifacts"


def test_scrapy_overrides_come_from_one_json_variable(monkeypatch, animerec_home):
    monkeypatch.setenv("ANIMEREC_SCRAPY_SETTINGS", '{"DOWNLOAD_DELAY": 0}')
    assert load_settings().scrapy_overrides == {"DOWNLOAD_DELAY": 0}
    monkeypatch.setenv("ANIMEREC_SCRAPY_SETTINGS", "DOWNLOAD_DELAY=0")
    with pytest.raises(SettingsError, match="JSON object"):
        load_settings()


def test_spiders_apply_the_overrides(monkeypatch, animerec_home):
    from scrapy.settings import Settings as ScrapySettings

    from crawler.spiders.anime import AnimeSpider

    monkeypatch.setenv("ANIMEREC_SCRAPY_SETTINGS", '{"DOWNLOAD_DELAY": 0}')
    scrapy_settings = ScrapySettings({"DOWNLOAD_DELAY": 1.0})
    AnimeSpider.update_settings(scrapy_settings)
    assert scrapy_settings.getfloat("DOWNLOAD_DELAY") == 0


def test_feedback_retention_is_a_setting_with_the_contracts_default(monkeypatch, animerec_home):
    from animerec_assets.contracts.feedback import DEFAULT_RETENTION_DAYS

    monkeypatch.delenv("ANIMEREC_FEEDBACK_RETENTION_DAYS", raising=False)
    assert load_settings().feedback_retention_days == DEFAULT_RETENTION_DAYS
    monkeypatch.setenv("ANIMEREC_FEEDBACK_RETENTION_DAYS", "30")
    assert load_settings().feedback_retention_days == 30
    for bad in ("0", "-1", "ninety", "1e3"):
        monkeypatch.setenv("ANIMEREC_FEEDBACK_RETENTION_DAYS", bad)
        with pytest.raises(SettingsError, match="ANIMEREC_FEEDBACK_RETENTION_DAYS"):
            load_settings()
