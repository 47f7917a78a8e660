"""The Typer command line."""

# Command modules import pydantic models and services inside the commands that use them,
# so that `pixyproxy --help` and parsing stay fast (see tests/e2e/test_startup_imports.py).
#
# Modules that define commands do not use `from __future__ import annotations`: Typer reads
# every command's signature at each start, and string annotations make it compile and
# eval each one (~280 of them, ~8 ms per run); real annotations are built once, from
# bytecode.
