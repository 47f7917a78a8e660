"""Per-invocation state: the --debug flag, and services built on first use, closed at exit."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import typer

from pixyproxy_cli import STARTED
from pixyproxy_cli.commands import output
from pixyproxy_cli.core.constants import Provision
from pixyproxy_cli.core.exceptions import PixyProxyException

if TYPE_CHECKING:
    from pixyproxy_cli.commands.backends import Backend
    from pixyproxy_cli.service.init import Services
    from pixyproxy_cli.service.interfaces import PromptServiceInterface
    from pixyproxy_cli.service.servers import ServerLogins


@dataclass
class CliState:
    """What the top-level callback knows, handed to every command through ``ctx.obj``."""

    debug: bool = False
    server: str | None = None
    """``--server URL``: talk to that pixyproxy server."""
    local: bool = False
    """``--local``: the database of this machine, whatever server is configured."""
    _services: Services | None = field(default=None, repr=False)
    _backend: Backend | None = field(default=None, repr=False)
    _logins: ServerLogins | None = field(default=None, repr=False)

    def services(self, provision: Provision = Provision.OWN_FILE, **overrides: Any) -> Services:
        """The services for this invocation; ``overrides`` are settings from flags.

        ``provision`` is what the command may create when the database is missing: reading
        commands keep the default (on MySQL they create nothing). Built once per invocation
        and closed when it ends. Raises ConfigurationError.
        """
        if self._services is None:
            from pixyproxy_cli.service.init import open_services

            # Whoever runs the CLI reaches the database itself: the local admin.
            opening = time.perf_counter()
            self._services = open_services(overrides, provision, local_admin=True)
            if output.verbose():
                _describe(self._services, time.perf_counter() - opening)
        return self._services

    def logins(self) -> ServerLogins:
        """The logins kept per server (``servers.json`` and the keyring)."""
        if self._logins is None:  # settings are read once per invocation for this
            from pixyproxy_cli.core.settings import load_settings
            from pixyproxy_cli.service.servers import server_logins

            self._logins = server_logins(load_settings().config_dir)
        return self._logins

    def remote_server(self) -> str | None:
        """The server this invocation talks to, or None for local mode.

        ``--local`` wins; then ``--server``, PIXYPROXY_SERVER, and the server last logged in
        to. Raises InputValidationError for a malformed URL.
        """
        if self.local:
            return None
        if self.server:
            from pixyproxy_cli.service.servers import normalize_server

            return normalize_server(self.server)
        return self.logins().default_server()

    def say_admin_command(self, command: str) -> None:
        """Say so when ``command``, which administers this machine, is run with a server."""
        if self.local:
            return
        try:
            server = self.remote_server()
        except PixyProxyException:
            return  # a malformed server URL: the command works here anyway
        if server is not None:
            output.notice(f"{command} works on this machine's database, not on {server}")

    def backend(self) -> Backend:
        """Where this invocation's images live: this machine's database, or a server.

        Chosen once per invocation (see ``remote_server``). Raises InputValidationError for
        a malformed server URL.
        """
        if self._backend is None:
            from pixyproxy_cli.commands.backends import LocalBackend, RemoteBackend

            server = self.remote_server()
            if server is None:
                self._backend = LocalBackend(self.services)
            else:
                from pixyproxy_cli.service.remote import RemoteSession

                logins = self.logins()
                self._backend = RemoteBackend(server, lambda: RemoteSession(server, logins))
        return self._backend

    def prompts(self, **overrides: Any) -> PromptServiceInterface:
        """The prompt service for the logged-in user (or anonymous when nobody is).

        In remote mode, the server's, as the kept token's user. ``overrides`` are the
        settings given as flags. Raises AuthenticationError when stored credentials no
        longer authenticate, and InputValidationError for a flag a server does not take.
        """
        return self.backend().prompts(overrides)

    def close(self) -> None:
        """Close the services' database connections, and the server's, if any were opened."""
        if self._services is not None:
            self._services.close()
            self._services = None
        if self._backend is not None:
            self._backend.close()
            self._backend = None
        output.info(f"finished {time.perf_counter() - STARTED:.3f} s after start-up")
        output.set_verbosity(output.NORMAL)  # for whatever runs next in this process


def _describe(services: Services, seconds: float) -> None:
    """Under -v: the settings' files, the database and the provider this invocation uses."""
    from pixyproxy_cli.core.settings import explain_settings

    settings = services.settings
    sources = explain_settings()[1]
    config = sources.config
    output.info(
        f"settings: .env {sources.env_file or 'none'}; config file {config.path} "
        + (f"({len(config.values)} setting(s))" if config.path.exists() else "(none)")
    )
    output.info(
        f"database: {settings.db_backend} {settings.database_location()} "
        f"(opened in {seconds * 1000:.0f} ms)"
    )
    try:
        name = services.provider_name
    except PixyProxyException as error:  # only a command that makes images needs one
        output.info(f"provider: none ({error.message})")
        return
    output.info(
        f"provider: {name}"
        + (f" ({services.provider_notice})" if services.provider_notice else "")
        + (f", model {settings.openai_model}" if name == "openai" else "")
    )


def state(ctx: typer.Context) -> CliState:
    """The CliState of the running invocation (made by the top-level callback)."""
    root = ctx.find_root()
    if not isinstance(root.obj, CliState):
        root.obj = CliState()
        root.call_on_close(root.obj.close)
    return root.obj
