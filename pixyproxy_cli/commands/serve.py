"""``pixyproxy serve``: the REST API, with uvicorn (imported only here)."""

from typing import Annotated

import typer

from pixyproxy_cli.core.exceptions import ConfigurationError


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes.")] = 1,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
) -> None:
    """Serve the REST API: POST /image, GET /image, /image/{guid}, /image/{guid}/content.

    Settings come from the environment and .env, as for every command. Every request is
    logged on stderr as one line with its request id (also sent as X-Request-ID). The
    OpenAPI documentation is at /docs.

    Examples:

        pixyproxy serve

        pixyproxy serve --host 0.0.0.0 --port 8080 --workers 4
    """
    try:
        import uvicorn

        import pixyproxy_cli.web.app  # noqa: F401 - fail here, with the fix, if FastAPI is missing
    except ImportError as error:
        raise ConfigurationError(
            f"pixyproxy serve needs the server extra ({error.name} is missing): "
            "pip install 'pixyproxy[server]'"
        ) from error
    # Fail fast on bad settings, before uvicorn starts workers.
    from pixyproxy_cli.core.settings import load_settings
    from pixyproxy_cli.web.logging_config import logging_config

    load_settings()
    uvicorn.run(
        "pixyproxy_cli.web.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=logging_config(log_level),
        log_level=log_level.lower(),
        access_log=False,
        server_header=False,
    )
