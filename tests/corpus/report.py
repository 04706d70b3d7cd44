"""Run the bad-input corpus through the CLI, one process per file, and print what the user saw.

    .venv/bin/python tests/corpus/report.py [--model u2netp] [--only NAME ...]

Prints a Markdown table: input, what it is, outcome (result / refused / FAILED), the message or notes the
user read, wall time and peak resident memory of the whole `python -m passbg` process (from wait4's
ru_maxrss, so it includes Python, numpy, onnxruntime and the model). tests/app/test_corpus_cli.py uses the
same runner and checks every row against the corpus's expectations.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))
import make_corpus  # noqa: E402 - the corpus lives beside this script

ERROR, NOTE = "passbg: error: ", "passbg: note: "
DEFAULT_CACHE = REPO / ".cache" / f"corpus-v{make_corpus.VERSION}"


@dataclass(frozen=True)
class Outcome:
    """What one CLI run did. messages: the `passbg: error:` / `passbg: note:` lines, without prefix."""

    case: make_corpus.Case
    exit_code: int
    errors: tuple[str, ...]
    notes: tuple[str, ...]
    stderr: str
    seconds: float
    peak_rss_mb: float
    output: Path | None
    input_unchanged: bool

    @property
    def kind(self) -> str:
        if self.exit_code == 0 and self.output is not None:
            return "result"
        if self.exit_code == 2 and self.errors:
            return "refused"
        return "FAILED"

    @property
    def shown(self) -> str:
        return " ".join(self.errors or self.notes) or "-"


def corpus_dir(path: Path | None = None) -> Path:
    """The generated corpus (made on first use, in its own process; see make_corpus's docstring)."""
    target = Path(path or os.environ.get("PASSBG_CORPUS_DIR") or DEFAULT_CACHE)
    index = target / "corpus.json"
    if index.is_file() and json.loads(index.read_text())["version"] == make_corpus.VERSION:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=target.name + ".", dir=target.parent))
    subprocess.run([sys.executable, str(HERE / "make_corpus.py"), str(staging)], check=True,
                   stdout=subprocess.DEVNULL)
    try:
        staging.rename(target)  # atomic: a concurrent run either sees the whole corpus or none
    except OSError:  # another process got there first
        subprocess.run(["rm", "-rf", str(staging)], check=False)
    return target


def run_case(case: make_corpus.Case, corpus: Path, out_dir: Path, model: str, timeout_s: float = 300
             ) -> Outcome:
    """`python -m passbg FILE -o OUT -m MODEL` in a fresh process; time and peak RSS of that process."""
    src = corpus / case.file
    before = hashlib.sha256(src.read_bytes()).hexdigest()
    out = out_dir / f"{case.name}.jpg"
    cmd = [sys.executable, "-m", "passbg", str(src), "-o", str(out), "-m", model]
    env = {**os.environ, "PYTHONPATH": str(REPO / "py")}
    start = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, env=env)
        deadline = start + timeout_s
        while True:  # wait4 gives this child's own rusage (peak RSS), unlike RUSAGE_CHILDREN
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.02)
        proc.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - start
        err.seek(0)
        stderr = err.read().decode("utf-8", "replace")
    lines = stderr.splitlines()
    errors = tuple(line.removeprefix(ERROR) for line in lines if line.startswith(ERROR))
    notes = tuple(line.removeprefix(NOTE) for line in lines if line.startswith(NOTE))
    return Outcome(
        case=case,
        exit_code=proc.returncode,
        errors=errors,
        notes=notes,
        stderr=stderr,
        seconds=seconds,
        peak_rss_mb=usage.ru_maxrss / 1024.0,  # Linux reports KiB
        output=out if out.is_file() else None,
        input_unchanged=hashlib.sha256(src.read_bytes()).hexdigest() == before,
    )


def table(outcomes: list[Outcome]) -> str:
    rows = [
        "| input | what it is | outcome | what the user saw | time (s) | peak RSS (MB) |",
        "|---|---|---|---|---:|---:|",
    ]
    for o in outcomes:
        shown = o.shown.replace("|", "/")
        rows.append(
            f"| {o.case.file} | {o.case.what} | {o.kind} | {shown} | {o.seconds:.1f} | {o.peak_rss_mb:.0f} |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="u2netp", help="model id (default u2netp, the CI model)")
    parser.add_argument("--corpus", type=Path, help="corpus folder (default: generated into .cache/)")
    parser.add_argument("--only", nargs="*", help="case names to run (default: all)")
    args = parser.parse_args(argv)
    corpus = corpus_dir(args.corpus)
    chosen = [c for c in make_corpus.cases() if not args.only or c.name in args.only]
    with tempfile.TemporaryDirectory() as out:
        outcomes = [run_case(c, corpus, Path(out), args.model) for c in chosen]
    print(f"model {args.model}; corpus {corpus}\n")
    print(table(outcomes))
    return 0 if all(o.kind != "FAILED" for o in outcomes) else 1


if __name__ == "__main__":
    raise SystemExit(main())
