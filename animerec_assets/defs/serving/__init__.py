"""Serving stage: publish recommendations to Redis."""
