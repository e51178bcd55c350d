"""Fixtures for the ML tests: the synthetic clustered world of ``ml_world``."""

from __future__ import annotations

import pandas as pd
import pytest
from ml_world import make_world


@pytest.fixture(scope="session")
def world() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    return make_world()
