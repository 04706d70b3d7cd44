"""`python -m passbg` runs the command-line tool."""

from passbg.cli import main

raise SystemExit(main())
