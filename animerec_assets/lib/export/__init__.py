"""The published dataset: files, dataset card and Kaggle metadata for the processed tables.

Pure helpers (column descriptions, SQL, card and metadata rendering) plus the small file
operations that publish a finished export version; ``dataset.py`` runs a whole export. The
Dagster asset (``animerec_assets/defs/export``) only calls it through the export target
resource.
"""
