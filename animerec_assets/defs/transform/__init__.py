"""Warehouse transformations (dbt) and data-quality gates (Great Expectations).

Import ``transform_assets`` / ``transform_checks`` / ``defs`` from
``animerec_assets.defs.transform.definitions`` (kept out of this package's import so that
``landing_tables`` stays light for the crawl stage).
"""
