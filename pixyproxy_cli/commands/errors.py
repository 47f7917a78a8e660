"""Exit codes, and the one place where CLI errors become a line on stderr.

Every command lets PixyProxyExceptions propagate; ``PixyProxyGroup.invoke`` turns them into
``Error: <message>`` on stderr and the exit code of their kind, with the traceback only
under ``--debug``. Usage errors (unknown options, missing arguments) keep exit code 2.
"""

from __future__ import annotations

import logging
import sys
import traceback
from enum import IntEnum
from typing import Any

import typer
from typer.core import TyperGroup

from pixyproxy_cli.commands import output
from pixyproxy_cli.core.exceptions import (
    AuthenticationError,
    ConstraintViolationError,
    DBConnectionError,
    GenerationError,
    InputValidationError,
    PermissionDeniedError,
    PixyProxyException,
    RateLimitedError,
    RecordNotFoundError,
    RemoteServerError,
    TooManyRequestsError,
    TransactionConflictError,
)

logger = logging.getLogger(__name__)


class ExitCode(IntEnum):
    """What ``pixyproxy`` exits with; documented in README.md."""

    OK = 0
    ERROR = 1
    USAGE = 2
    NOT_FOUND = 3
    AUTHENTICATION = 4
    DATABASE_UNAVAILABLE = 5
    PROVIDER_FAILED = 6
    CONFLICT = 7
    FORBIDDEN = 8
    TOO_MANY_REQUESTS = 9
    INTERRUPTED = 130


_EXIT_CODES: dict[type[PixyProxyException], ExitCode] = {
    InputValidationError: ExitCode.USAGE,
    RecordNotFoundError: ExitCode.NOT_FOUND,
    AuthenticationError: ExitCode.AUTHENTICATION,
    DBConnectionError: ExitCode.DATABASE_UNAVAILABLE,
    TransactionConflictError: ExitCode.DATABASE_UNAVAILABLE,
    GenerationError: ExitCode.PROVIDER_FAILED,
    RateLimitedError: ExitCode.TOO_MANY_REQUESTS,  # the provider's limit: wait, as for ours
    ConstraintViolationError: ExitCode.CONFLICT,
    PermissionDeniedError: ExitCode.FORBIDDEN,
    RemoteServerError: ExitCode.DATABASE_UNAVAILABLE,
    TooManyRequestsError: ExitCode.TOO_MANY_REQUESTS,
}


def exit_code_for(error: PixyProxyException) -> ExitCode:
    """The exit code of the nearest mapped class in ``error``'s hierarchy (else ERROR)."""
    for cls in type(error).__mro__:
        if cls in _EXIT_CODES:
            return _EXIT_CODES[cls]
    return ExitCode.ERROR


def report(message: str, *, debug: bool) -> None:
    """Write ``Error: message`` (and, under --debug, the current traceback) to stderr."""
    if debug:
        traceback.print_exc(file=sys.stderr)
    typer.echo(f"Error: {output.printable(message)}", err=True)


class PixyProxyGroup(TyperGroup):
    """The top-level command group: maps exceptions to one stderr line and an exit code."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        """Parse with the global options first, wherever they were written."""
        from pixyproxy_cli.commands.options import hoist_global_options

        return super().parse_args(ctx, hoist_global_options(args))

    def invoke(self, ctx: Any) -> Any:  # Typer hands its own Context subclass
        """Run the command; translate PixyProxyExceptions, interrupts and surprises."""
        debug = bool(ctx.params.get("debug"))
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise
        except PixyProxyException as error:
            report(error.message, debug=debug)
            raise typer.Exit(exit_code_for(error)) from error
        except KeyboardInterrupt:
            typer.echo("Interrupted", err=True)
            raise typer.Exit(ExitCode.INTERRUPTED) from None
        except BrokenPipeError:
            # The reader went away (`pixyproxy list | head`): not an error of ours.
            _silence_stdout()
            raise typer.Exit(ExitCode.OK) from None
        except Exception as error:
            logger.debug("unexpected error", exc_info=True)
            report(
                f"unexpected {type(error).__name__}: {error}; this is a bug in pixyproxy, "
                "please report it (run with --debug for the traceback)",
                debug=debug,
            )
            raise typer.Exit(ExitCode.ERROR) from error


def _silence_stdout() -> None:
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
