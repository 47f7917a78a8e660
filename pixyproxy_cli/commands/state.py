"""Per-invocation state: the --debug flag, and services built on first use, closed at exit."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import typer

from pixyproxy_cli.core.constants import Provision

if TYPE_CHECKING:
    from pixyproxy_cli.service.init import Services
    from pixyproxy_cli.service.public_prompts import PromptService


@dataclass
class CliState:
    """What the top-level callback knows, handed to every command through ``ctx.obj``."""

    debug: bool = False
    _services: Services | None = field(default=None, repr=False)

    def services(self, provision: Provision = Provision.OWN_FILE, **overrides: Any) -> Services:
        """The services for this invocation; ``overrides`` are settings from flags.

        ``provision`` is what the command may create when the database is missing: reading
        commands keep the default (on MySQL they create nothing). Built once per invocation
        and closed when it ends. Raises ConfigurationError.
        """
        if self._services is None:
            from pixyproxy_cli.service.init import open_services

            # Whoever runs the CLI reaches the database itself: the local admin.
            self._services = open_services(overrides, provision, local_admin=True)
        return self._services

    def prompts(self, **overrides: Any) -> PromptService:
        """The prompt service for the logged-in user (or anonymous when nobody is).

        Raises AuthenticationError when stored credentials no longer authenticate.
        """
        services = self.services(**overrides)
        return services.prompts_for(services.sessions.current_user())

    def close(self) -> None:
        """Close the services' database connections, if any were opened."""
        if self._services is not None:
            self._services.close()
            self._services = None


def state(ctx: typer.Context) -> CliState:
    """The CliState of the running invocation (made by the top-level callback)."""
    root = ctx.find_root()
    if not isinstance(root.obj, CliState):
        root.obj = CliState()
        root.call_on_close(root.obj.close)
    return root.obj
