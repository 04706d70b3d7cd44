#!/usr/bin/env python3
"""Build, serve and test passbg.  Python 3.11+ standard library only: it runs before any venv exists.

    python build.py                 fetch, verify and assemble everything (idempotent)
    python build.py serve           build, then serve site/ with the headers threads need
    python build.py test [ARGS]     build, make sure .venv has the test extras and Chromium, run pytest
    python build.py pin             rewrite build/pins.json from the fetched sources (deliberate upgrades)

Every file that ends up in the site is checked by sha256 against build/pins.json (the Pyodide wheels
also against the pyodide-lock.json that the browser itself checks).  Any failure ends with one line
``build.py: error: ...`` and exit code 1.

The steps live in py/passbg_build/ (one module per step; see its __init__.py); this file only puts
py/ on the import path and runs its command line.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "py"))

from passbg_build.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
