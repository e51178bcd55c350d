"""The public JSON API (FastAPI) over the serving store: ``animerec api serve``."""
