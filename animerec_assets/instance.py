"""Prepare DAGSTER_HOME with the instance configuration for the current environment.

Dagster reads ``$DAGSTER_HOME/dagster.yaml``. The repository keeps one file per environment
(``dagster.yaml`` for local SQLite storage, ``deploy/dagster.prod.yaml`` for PostgreSQL), and
``ANIMEREC_ENV`` (or an explicit ``DAGSTER_PG_URL``) decides which one is installed.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from animerec_assets.settings import Settings, load_settings

REPO_ROOT = Path(__file__).resolve().parents[1]
LOCAL_INSTANCE_YAML = REPO_ROOT / "dagster.yaml"
PROD_INSTANCE_YAML = REPO_ROOT / "deploy" / "dagster.prod.yaml"


def instance_yaml_for(settings: Settings) -> Path:
    """PostgreSQL storage in production or whenever DAGSTER_PG_URL is given; else SQLite."""
    if settings.env == "prod" or settings.dagster_pg_url:
        return PROD_INSTANCE_YAML
    return LOCAL_INSTANCE_YAML


def prepare_dagster_home(settings: Settings | None = None, home: Path | None = None) -> Path:
    """Create DAGSTER_HOME (default ``$ANIMEREC_HOME/dagster_home``) and install dagster.yaml."""
    settings = settings or load_settings()
    chosen = home or Path(os.environ.get("DAGSTER_HOME") or settings.home / "dagster_home")
    chosen.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(instance_yaml_for(settings), chosen / "dagster.yaml")
    return chosen
