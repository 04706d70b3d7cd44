"""The whole bad-and-unusual-input corpus (tests/corpus/make_corpus.py) through the real CLI.

Every input ends in either a result or a plain-words refusal naming the problem and what to do: never a
traceback, never a hang, and the user's file is never touched. Each case runs in its own `python -m
passbg` process with the small u2netp model; tests/corpus/report.py prints the same runs as a table.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "corpus"))
import make_corpus  # noqa: E402
import report  # noqa: E402

MODEL = "u2netp"
CASES = {c.name: c for c in make_corpus.cases()}
SEVERAL = "more than one person"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def corpus(portraits_dir, models_dir) -> Path:
    return report.corpus_dir()


@pytest.fixture(scope="module")
def run(corpus: Path):
    """run(name) -> report.Outcome, each case run once per test session."""
    done: dict[str, report.Outcome] = {}
    out_dir = Path(tempfile.mkdtemp(prefix="passbg-corpus-out-"))

    def outcome(name: str) -> report.Outcome:
        if name not in done:
            done[name] = report.run_case(CASES[name], corpus, out_dir, MODEL, timeout_s=240)
        return done[name]

    return outcome


@pytest.mark.parametrize("name", list(CASES))
def test_every_input_gives_a_result_or_a_plain_refusal(run, name: str):
    case = CASES[name]
    o = run(name)
    assert "Traceback" not in o.stderr, o.stderr
    assert o.input_unchanged, "the user's file must never be modified"
    if case.expect == "error":
        assert o.kind == "refused", f"expected a refusal, got exit {o.exit_code}: {o.stderr}"
        assert o.output is None
        shown = " ".join(o.errors).lower()
    else:
        assert o.kind == "result", f"expected a result, got exit {o.exit_code}: {o.stderr}"
        with Image.open(o.output) as im:
            assert im.format == "JPEG" and min(im.size) >= 64
        shown = " ".join(o.notes).lower()
        # A single person is never reported as several, and several are always reported.
        assert (SEVERAL in shown) == (SEVERAL in [w.lower() for w in case.says]), o.notes
    for word in case.says:
        assert word.lower() in shown, f"{word!r} not in {shown!r}"


def test_refusals_say_what_to_do(run):
    """Each refusal is one line that names the problem and an action (a verb the user can follow)."""
    actions = ("use ", "export", "save", "reduce", "crop", "try again")
    for name, case in CASES.items():
        if case.expect != "error":
            continue
        (message,) = run(name).errors
        assert any(a in message.lower() for a in actions), f"{name}: {message}"


@pytest.mark.parametrize("orientation", range(2, 9))
def test_exif_rotated_photos_come_out_like_the_upright_one(run, orientation: int):
    upright = np.asarray(Image.open(run("exif-orientation-1").output), dtype=np.int16)
    rotated = np.asarray(Image.open(run(f"exif-orientation-{orientation}").output), dtype=np.int16)
    assert rotated.shape == upright.shape
    assert np.abs(rotated - upright).mean() < 3.0


def test_big_photos_are_worked_on_at_a_capped_size(run):
    """Memory follows the working size, not the camera's: 48 MP costs about what 24 MP costs."""
    small, large = run("24-megapixels"), run("48-megapixels")
    for o in (small, large):
        with Image.open(o.output) as im:
            assert max(im.size) == 2560
    assert large.peak_rss_mb < 1.3 * small.peak_rss_mb, (small.peak_rss_mb, large.peak_rss_mb)


def test_decoding_48_megapixels_stays_within_a_bounded_memory(corpus: Path):
    """The JPEG is decoded at reduced scale (Image.draft): decoding adds far less than the 146 MB a full
    48 MP RGB decode would need. Measured in a fresh process (peak RSS before vs after decoding)."""
    code = (
        "import resource, sys\n"
        "from passbg.core.decode import decode_image\n"
        "data = open(sys.argv[1], 'rb').read()\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "image = decode_image(data)\n"
        "after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "print((after - before) / 1024, image.size[0], image.size[1])\n"
    )
    py = str(Path(__file__).resolve().parents[2] / "py")
    out = subprocess.run(
        [sys.executable, "-c", code, str(corpus / "48mp.jpg")],
        capture_output=True, text=True, check=True, env={"PYTHONPATH": py},
    ).stdout.split()
    added_mb, width, height = float(out[0]), int(out[1]), int(out[2])
    assert max(width, height) == 2560
    assert added_mb < 100, f"decoding 48 MP added {added_mb:.0f} MB"
