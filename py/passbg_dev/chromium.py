"""How passbg's tools start Debian's headless Chromium (the benchmark, the start-up timer, the tests)."""

from __future__ import annotations

import os

CHROMIUM = os.environ.get("PASSBG_CHROMIUM", "/usr/bin/chromium")

# Root in a container needs --no-sandbox; the rest keeps Chromium from calling out to Google's
# services, which a closed network refuses (and which a privacy tool must not do anyway).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
]
