"""``python -m spikesim``: the ``spikesim`` command (see :mod:`spikesim.cli`)."""

from .cli import main

raise SystemExit(main())
