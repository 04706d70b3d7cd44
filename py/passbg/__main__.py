"""`python -m passbg` runs the command-line tool."""

from passbg.app.cli import main

raise SystemExit(main())
