"""``python -m pixyproxy_cli``: the same as the ``pixyproxy`` command."""

from pixyproxy_cli.commands.main import run

run()
