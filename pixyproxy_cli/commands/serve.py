"""``pixyproxy serve``: the REST API, with uvicorn (imported only here)."""

import errno
import os
import socket
from pathlib import Path
from typing import Annotated

import typer

from pixyproxy_cli.core.exceptions import ConfigurationError, InputValidationError


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes.")] = 1,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
    forwarded_allow_ips: Annotated[
        str | None,
        typer.Option(
            help="Proxies whose X-Forwarded-For/-Proto to believe: addresses or networks, "
            "comma-separated, or *. Unset: proxy headers are ignored "
            "[env: FORWARDED_ALLOW_IPS].",
        ),
    ] = None,
    ssl_certfile: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="Serve HTTPS with this certificate (PEM)."),
    ] = None,
    ssl_keyfile: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="The certificate's private key (PEM)."),
    ] = None,
    job_workers: Annotated[
        int | None,
        typer.Option(
            min=0,
            max=64,
            help="Threads of each worker process that run queued jobs (POST /jobs, Prefer: "
            "respond-async); 0 for none, when `pixyproxy worker` runs them "
            "[env: JOB_WORKERS; default 2].",
        ),
    ] = None,
) -> None:
    """Serve the gallery at / and the REST API (POST /image, GET /image, /image/{guid}...).

    A browser at http://127.0.0.1:8000/ browses, searches, signs in, generates and
    deletes. Settings come from flags, the environment, .env and the config file, as for
    every command. Every request is logged on stderr as one line with its request id (also
    sent as X-Request-ID). The OpenAPI documentation is at /docs.

    Examples:

        pixyproxy serve

        pixyproxy serve --host 0.0.0.0 --port 8080 --workers 4

        pixyproxy serve --forwarded-allow-ips 10.0.0.5   # behind that reverse proxy

        pixyproxy serve --host 0.0.0.0 --ssl-certfile cert.pem --ssl-keyfile key.pem

        pixyproxy serve --job-workers 0   # jobs run by `pixyproxy worker` processes
    """
    if (ssl_certfile is None) != (ssl_keyfile is None):
        raise InputValidationError("--ssl-certfile and --ssl-keyfile go together")
    try:
        import uvicorn

        import pixyproxy_cli.web.app  # noqa: F401 - fail here, with the fix, if FastAPI is missing
    except ImportError as error:
        raise ConfigurationError(
            f"pixyproxy serve needs the server extra ({error.name} is missing): "
            f"pip install '{_install_target()}[server]'"
        ) from error
    # Fail fast on bad settings and a taken port, before uvicorn starts workers.
    from pixyproxy_cli.core.settings import load_settings
    from pixyproxy_cli.web.logging_config import logging_config
    from pixyproxy_cli.web.metrics import shared_by_workers
    from pixyproxy_cli.web.middleware import MAX_HEADER_BYTES
    from pixyproxy_cli.web.protocol import GuardedH11Protocol

    settings = load_settings(
        {"forwarded_allow_ips": forwarded_allow_ips, "job_workers": job_workers}
    )
    if job_workers is not None:
        # uvicorn's worker processes build the app from the environment.
        os.environ["JOB_WORKERS"] = str(job_workers)
    _check_port_free(host, port)
    trusted = settings.forwarded_allow_ips
    with shared_by_workers(workers):  # GET /metrics sums every worker's counts
        uvicorn.run(
            "pixyproxy_cli.web.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            http=GuardedH11Protocol,
            h11_max_incomplete_event_size=MAX_HEADER_BYTES,
            # uvicorn believes X-Forwarded-For from 127.0.0.1 by default, which lets any local
            # client reset every per-address limit; only proxies the operator names are believed.
            proxy_headers=trusted is not None,
            forwarded_allow_ips=trusted,
            log_config=logging_config(log_level),
            log_level=log_level.lower(),
            access_log=False,
            server_header=False,
            ssl_certfile=str(ssl_certfile) if ssl_certfile else None,
            ssl_keyfile=str(ssl_keyfile) if ssl_keyfile else None,
        )


def _install_target() -> str:
    """What to pip install: this checkout's folder when running from one, else the package."""
    from pathlib import Path

    import pixyproxy_cli

    checkout = Path(pixyproxy_cli.__file__).resolve().parents[1]
    if (checkout / "pyproject.toml").is_file() and (checkout / "pixyproxy_cli").is_dir():
        return str(checkout) if checkout != Path.cwd() else "."
    return "pixyproxy"


def _check_port_free(host: str, port: int) -> None:
    """Raise ConfigurationError when ``host:port`` cannot be bound because it is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise ConfigurationError(f"port {port} is already in use") from error
            raise ConfigurationError(f"cannot listen on {host}:{port}: {error.strerror}") from error
