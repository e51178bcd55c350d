"""Recommendation models: evaluation protocol, baselines and the TFRS model stages.

Everything here is pure model code on pandas/NumPy inputs in the processed schemas, so the
Dagster ML assets and ``animerec bench quality`` run exactly the same code. Modules that need
TensorFlow import it through :mod:`animerec_assets.lib.ml.tf_env` inside functions, so importing
this package (or anything Dagster loads) stays fast.
"""
