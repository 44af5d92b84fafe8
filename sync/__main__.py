"""``python -m sync``: the refsync command line (same as the ``refsync`` script)."""

from sync.cli import main

main()
