"""``python -m pixyproxy_cli``: the same as the ``pixyproxy`` command."""

from pixyproxy_cli.cli import main

main()
