"""pixyproxy: generate images from text prompts, keep their details, and serve them.

Importing the package does no work: settings are read and drivers loaded by the commands
that need them (the console script's first step is ``pixyproxy_cli.cli.main``).
"""

from __future__ import annotations

import logging
import time

__version__ = "0.1.0"
STARTED = time.perf_counter()
"""When the package was first imported: the start of a command, for ``-v``'s timings."""

# A library stays quiet unless its application configures logging (the CLI's --debug does).
logging.getLogger(__name__).addHandler(logging.NullHandler())
