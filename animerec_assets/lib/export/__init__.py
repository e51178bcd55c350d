"""The published dataset: files, dataset card and Kaggle metadata for the processed tables.

Pure helpers (column descriptions, SQL, card and metadata rendering) plus the small file
operations that publish a finished export version. The Dagster asset lives in
``animerec_assets/defs/export``.
"""
