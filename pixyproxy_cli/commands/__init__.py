"""The Typer command line."""

# Command modules import pydantic models and services inside the commands that use them,
# so that `pixyproxy --help` and parsing stay fast (see tests/e2e/test_startup_imports.py).
