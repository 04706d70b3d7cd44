"""passbg_server.load's memory figures: what it reports of the server process it is told to watch."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from passbg_server.load import RssWatch

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def test_the_peak_of_a_process_that_grows_is_seen():
    # A child that takes ~300 MiB for a moment, then lets go of it.
    code = "import time; time.sleep(0.3); b = b'x' * (300 * 2**20); time.sleep(0.5); del b; time.sleep(2)"
    child = subprocess.Popen([sys.executable, "-c", code])
    try:
        time.sleep(0.1)
        with RssWatch(child.pid) as watch:
            time.sleep(1.5)
        figures = watch.figures()
    finally:
        child.kill()
        child.wait()
    assert figures["start_mib"] < 100
    assert 300 <= figures["peak_mib"] < 400


def test_a_process_that_is_not_running_is_a_clear_error():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    with pytest.raises(SystemExit, match=f"no process {child.pid}"):
        RssWatch(child.pid)
