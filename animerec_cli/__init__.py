"""The ``animerec`` command and the local demo: tooling beside the Dagster code location.

Nothing in ``animerec_assets`` imports this package; it imports the stages' own sub-commands
only when one of them runs.
"""
