"""``animerec api serve``: the public JSON API on uvicorn, reading this environment's Redis."""

from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer(add_completion=False, help="The public JSON API over the serving store.")


@app.callback()
def api() -> None:
    """The public JSON API over the serving store (a group, so ``animerec api serve`` reads)."""


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8600,
    cors_origin: Annotated[
        list[str] | None,
        typer.Option(
            help="Origin allowed to call the API from a browser (repeatable; default: the "
            "comma-separated ANIMEREC_API_CORS_ORIGINS, else none)."
        ),
    ] = None,
    rate_limit: Annotated[
        str, typer.Option(help="Requests per client, e.g. '120/minute'.")
    ] = "120/minute",
    rate_limit_storage: Annotated[
        str,
        typer.Option(help="Where counts live: memory:// (one process) or a redis:// URL."),
    ] = "memory://",
) -> None:
    """Serve /v1/... (OpenAPI docs at /docs) until interrupted."""
    import uvicorn

    from animerec_assets.lib.redis_conn import redis_client
    from animerec_assets.settings import load_settings
    from api.server import ApiConfig, create_app

    settings = load_settings(serving_only=True)
    config = ApiConfig(
        cors_origins=tuple(cors_origin or ()) or settings.api_cors_origins,
        rate_limit=rate_limit,
        rate_limit_storage=rate_limit_storage,
        app_url=settings.app_url,
        mal_base_url=settings.mal_base_url,
    )
    api = create_app(lambda: redis_client(settings), config)
    typer.echo(f"animerec API: http://{host}:{port}/v1/freshness (docs: http://{host}:{port}/docs)")
    uvicorn.run(api, host=host, port=port, log_level="info")
