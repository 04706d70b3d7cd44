"""`python -m passbg_dev.eval_server`: is the reference server's second opinion worth the upload?

On the evaluation composites of passbg_dev.eval (alpha known by construction), tightly framed (the
portrait as it is) and loosely framed (the person at native pixels in a 3x larger canvas, capped at the
page's working size, as in a phone photo), it runs what the page does locally and what happens when the
page asks the server: the upload the page would send (passbg.app.cloud.upload_jpeg: a JPEG of at most
--upload-side px), the server's pipeline (passbg_server.pipeline, --steps) on it, its mask as an 8-bit PNG
would carry it, and the page's own finish_with_mask on the local photo. Both results are measured against
the truth (SAD, gradient error, halo, score) and reported per framing and background kind, for the ones
the page would send (local score < cloud_below) and for all.

Model calls go through a disk cache keyed by the input tensor (.cache/eval/server), so comparing step
sets re-runs only the arithmetic; --rows FILE reports an earlier --out again without any. --calibrate FILE
refits the score on the local results of this run
(tight and loose together, calibration photos only) and reports it on the held-out photos.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from passbg._shared import atomic
from passbg.app import cloud
from passbg.core.backend_ort import OrtBackend
from passbg.core.backgrounds import resolve_background
from passbg.core.decode import DEFAULT_MAX_SIDE
from passbg.core.models import ModelSpec, load_manifest
from passbg.core.pipeline import finish
from passbg.errors import InputError, PassbgError
from passbg.passport.photo import ort_face_finder
from passbg.quality import checks as qc
from passbg_dev import eval as ev
from passbg_dev import scenes
from passbg_server.pipeline import ServerPipeline, parse_steps
from passbg_server.pipeline.run import DEFAULT_STEPS

FRAMINGS = ("tight", "loose")
LOOSE_FACTOR = 3
HARD_KINDS = ("hair", "near-black")


class CachedBackend:
    """An OrtBackend whose outputs are kept on disk, keyed by model and input tensor (float16)."""

    def __init__(self, backend: OrtBackend, folder: Path) -> None:
        self.backend, self.folder = backend, folder
        self.calls = self.misses = 0

    def session(self, spec: ModelSpec) -> Any:
        return self.backend.session(spec)

    def run(self, spec: ModelSpec, tensor: np.ndarray) -> np.ndarray:
        self.calls += 1
        key = hashlib.sha256(spec.sha256.encode() + np.ascontiguousarray(tensor).tobytes()).hexdigest()[:24]
        file = self.folder / f"{spec.id}.{key}.npy"
        if file.is_file():
            return np.load(file).astype(np.float32)
        self.misses += 1
        raw = np.asarray(self.backend.run(spec, tensor), np.float32)
        file.parent.mkdir(parents=True, exist_ok=True)
        np.save(file, raw.astype(np.float16))
        return raw.astype(np.float16).astype(np.float32)


def loosen(rgb: np.ndarray, alpha: np.ndarray, fg: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The portrait placed bottom-centre in a canvas LOOSE_FACTOR times its size (scaled down first if the
    canvas would pass the page's working size), the rest of the canvas background (alpha 0)."""
    rgb, alpha, fg = scenes.fit_for_loose(rgb, alpha, fg, DEFAULT_MAX_SIDE, LOOSE_FACTOR)
    big_alpha, big_fg, at = scenes.frame_loose(alpha, fg, LOOSE_FACTOR)
    big_rgb = np.zeros((*big_alpha.shape, 3), np.uint8)
    big_rgb[at.top : at.top + at.h, at.left : at.left + at.w] = rgb
    return big_rgb, big_alpha, big_fg


def items(photos: list[Path], kinds: list[str], framings: list[str], truth_spec: ModelSpec, backend: Any,
          cache: Path, tags: dict) -> Iterator[tuple[str, ev.Item]]:
    for path in photos:
        base = ev.truth_for(path, truth_spec, backend, cache)
        for framing in framings:
            rgb, alpha, fg = base if framing == "tight" else loosen(*base)
            for kind in kinds:
                seed = zlib.crc32(f"{path.name}/{kind}".encode())
                bg = ev.make_background(kind, rgb, alpha, fg, seed)
                a = alpha[..., None]
                img = np.clip(np.rint(a * fg * 255.0 + (1 - a) * bg), 0, 255).astype(np.uint8)
                yield framing, ev.Item(path.stem, kind, tags.get(path.name, []), ev._png(img), img, alpha, fg)


def server_mask(pipe: ServerPipeline, upload: bytes) -> np.ndarray:
    """What the server answers for the upload, as the page reads it: float32 mask at the upload's size,
    8-bit as the PNG carries it."""
    from passbg.core.decode import decode_image

    image = decode_image(upload, max_side=1 << 15)
    alpha = pipe.alpha(image.rgb, image.alpha)
    return np.rint(alpha * 255.0).astype(np.float32) / np.float32(255.0)


def evaluate(item: ev.Item, framing: str, spec: ModelSpec, backend: Any, pipes: dict[str, ServerPipeline],
             upload_side: int, target: tuple[int, int, int], cache: Path,
             how: ev.Segmenting = ev.WHOLE, send_below: float | None = None) -> list[dict[str, Any]]:
    """Rows for the local result (spec, segmenting `how`, as the page does) and each server answer;
    with send_below, the server is asked only when the local score is below it (as the page asks)."""
    prepared, raw = ev.model_output(item.data, spec, backend, cache, how)
    local = finish(prepared, raw, target)
    rows = []

    def row(variant: str, result: Any) -> dict[str, Any]:
        metrics, report = ev.measure(item, result.alpha, result.composite, target, result.foreground)
        return {"variant": variant, "framing": framing, "name": item.name, "kind": item.kind,
                "metrics": metrics, "bad": ev.is_bad(metrics, report),
                "checks": {r.id: r.value for r in report.results}}

    rows.append(row("local", local))
    if send_below is not None and rows[0]["metrics"]["score"] >= send_below:
        return rows
    upload = cloud.upload_jpeg(prepared.image.rgb, upload_side)
    uploaded_hw = cloud.upload_size(prepared.image.rgb.shape[:2], upload_side)
    for label, pipe in pipes.items():
        mask = server_mask(pipe, upload)
        assert mask.shape == uploaded_hw
        try:
            remote = cloud.finish_with_mask(prepared.image, mask, cloud.mask_spec(spec, label), target)
        except InputError:
            continue
        rows.append(row(label, remote))
    return rows


def _mean(rows: list[dict], key: str) -> float:
    vals = [r["metrics"][key] for r in rows if key in r["metrics"]]
    return float(np.mean(vals)) if vals else float("nan")


def report(rows: list[dict], labels: list[str], threshold: float, out: Any = None) -> dict[str, Any]:
    """Print per framing and kind: local vs each server step set, on the sent results and on all."""
    p = lambda *a: print(*a, file=out)  # noqa: E731
    local = {(r["framing"], r["name"], r["kind"]): r for r in rows if r["variant"] == "local"}
    summary: dict[str, Any] = {}
    for scope in ("sent", "all"):
        keys = [k for k, r in local.items() if scope == "all" or r["metrics"]["score"] < threshold]
        p(f"\n== {scope}: {'local score < ' + format(threshold, 'g') if scope == 'sent' else 'every result'}"
          f" ({len(keys)} results) ==")
        p(f"  {'framing/kind':<22}{'n':>4}{'variant':>34}{'SAD':>9}{'grad':>8}{'halo':>8}{'haloI':>8}"
          f"{'score':>7}{'SAD<loc':>9}{'wins':>6}")
        groups: dict[tuple[str, str], list] = {}
        for k in keys:
            groups.setdefault((k[0], k[2]), []).append(k)
            groups.setdefault((k[0], "ALL"), []).append(k)
            groups.setdefault(("both", "ALL"), []).append(k)
        for (framing, kind), ks in sorted(groups.items()):
            base = [local[k] for k in ks]
            for label in ["local", *labels]:
                got = base if label == "local" else [
                    r for r in rows if r["variant"] == label and (r["framing"], r["name"], r["kind"]) in ks]
                if not got:
                    continue
                line = {m: _mean(got, m) for m in ("sad", "grad", "halo_de", "halo_ideal", "score")}
                if label != "local":
                    by = {(r["framing"], r["name"], r["kind"]): r for r in got}
                    lower = [by[k]["metrics"]["sad"] < local[k]["metrics"]["sad"] for k in ks if k in by]
                    wins = [by[k]["metrics"]["score"] > local[k]["metrics"]["score"] for k in ks if k in by]
                    line["sad_lower"] = float(np.mean(lower))
                    line["score_wins"] = float(np.mean(wins))
                cell = summary.setdefault(scope, {}).setdefault(f"{framing}/{kind}", {})
                cell[label] = line | {"n": len(got)}
                extra = (f"{line['sad_lower']:9.0%}{line['score_wins']:6.0%}" if label != "local" else "")
                p(f"  {framing + '/' + kind:<22}{len(got):>4}{label:>34}{line['sad']:9.2f}{line['grad']:8.2f}"
                  f"{line['halo_de']:8.1f}{line['halo_ideal']:8.1f}{line['score']:7.1f}{extra}")
    return summary


def score_report(rows: list[dict], args: argparse.Namespace, cfg: dict) -> None:
    """The score's power on the local results per framing and split, and with --calibrate the refit
    (passbg_dev.eval.calibrate on the calibration photos' local results) reported the same way."""
    splits = ev.split_names([r["name"] for r in rows], args.holdout)
    local = [r for r in rows if r["variant"] == "local"]
    scored = [ev.Row("local", "ours", r["name"], r["kind"], [], r["metrics"], r["bad"], [], r["checks"],
                     splits[r["name"]], framing=r["framing"]) for r in local]

    print(f"\n== quality score of the local results (bad = MSE > 0.01 or halo_ideal > 25), offered the "
          f"upload below {cfg['cloud_below']:g} ==")
    ev.print_page_scores(print, ev.page_scores(scored, cfg))
    if args.calibrate:
        fitted = ev.calibrate([s for s in scored if s.split == "calibration"] or scored, cfg)
        atomic.write_text(args.calibrate, json.dumps(fitted, indent=1))
        print(f"  refit written to {args.calibrate}: cloud_below {fitted['cloud_below']:g}, "
              f"scale {fitted.get('scale')}")
        ev.print_page_scores(print, ev.page_scores(scored, fitted), "refit ")


def rescore(args: argparse.Namespace) -> int:
    """The report and score of an earlier --out file again (no model runs), e.g. with --calibrate."""
    try:
        rows = json.loads(args.rows.read_text(encoding="utf-8"))["rows"]
        needed = ("variant", "framing", "name", "kind", "metrics", "bad")
        missing = {k for r in rows for k in needed if k not in r}
        if missing:
            raise KeyError(", ".join(sorted(missing)))
        labels = list(dict.fromkeys(r["variant"] for r in rows if r["variant"] != "local"))
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise InputError(f"{args.rows} is not a report written by --out ({err}).") from None
    cfg = qc.default_config()
    report(rows, labels, float(cfg["cloud_below"]))
    score_report(rows, args, cfg)
    return 0


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m passbg_dev.eval_server",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("--photos", type=int, default=4, help="number of portraits (seeded choice; 0 = all)")
    ap.add_argument("--backgrounds", default=",".join(ev.BACKGROUND_KINDS), help="comma-separated kinds")
    ap.add_argument("--framing", default="tight,loose", help="tight, loose or both (default)")
    ap.add_argument("--steps", action="append", default=[],
                    help="server step set to compare, e.g. 'flip,region' (repeatable; default: the "
                         "server's own, " + ",".join(DEFAULT_STEPS) + ")")
    ap.add_argument("--upload-side", type=int, default=cloud.UPLOAD_LONG_SIDE,
                    help="long side of the page's upload (default: what the page sends)")
    ap.add_argument("--model", default="isnet-fp16", help="the server's model (and the truth's)")
    ap.add_argument("--local-model", help="the page's model for the local result (default: --model)")
    ap.add_argument("--local-region", default="face",
                    help="what the page segments: face (its default, the face-first region) or whole")
    ap.add_argument("--portraits", type=Path, default=ev.DEFAULT_PORTRAITS)
    ap.add_argument("--cache", type=Path, default=ev.DEFAULT_CACHE)
    ap.add_argument("--holdout", type=float, default=0.5)
    ap.add_argument("--sent-only", action="store_true",
                    help="ask the server only for what the page would send (local score < cloud_below)")
    ap.add_argument("--calibrate", type=Path, help="refit the score on this run's local results (see above)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, help="write every row as JSON")
    ap.add_argument("--rows", type=Path,
                    help="report (with --calibrate: refit) the rows of an earlier --out again; no model runs")
    return ap


def run(args: argparse.Namespace) -> int:
    if args.rows:
        return rescore(args)
    manifest = load_manifest()
    spec = manifest.get(args.model)
    local_spec = manifest.get(args.local_model or args.model)
    how = ev.segmenting(args.local_region, manifest, OrtBackend(), what="--local-region")
    backend = CachedBackend(OrtBackend(), args.cache / "server")
    faces = ort_face_finder(manifest)
    step_sets = [parse_steps(s) for s in (args.steps or [",".join(DEFAULT_STEPS)])]
    pipes = {" + ".join(s) or "whole": ServerPipeline(spec, backend, s, faces) for s in step_sets}
    for pipe in pipes.values():
        pipe.warm_up()
    kinds = [k.strip() for k in args.backgrounds.split(",") if k.strip()]
    framings = [f.strip() for f in args.framing.split(",") if f.strip()]
    unknown = [f for f in framings if f not in FRAMINGS] + [k for k in kinds if k not in ev.BACKGROUND_KINDS]
    if unknown:
        raise InputError(f"unknown framing or background kind: {', '.join(unknown)}")
    excluded = ev.flawed_truth(spec.id)
    photos = ev.pick_photos(args.portraits, args.photos, args.seed, frozenset(excluded))
    target = resolve_background(ev.TARGET).rgb
    cfg = qc.default_config()
    threshold = float(cfg["cloud_below"])
    rows: list[dict] = []
    started = time.perf_counter()
    for i, (framing, item) in enumerate(items(photos, kinds, framings, spec, backend, args.cache,
                                               ev.read_tags(args.portraits))):
        rows.extend(evaluate(item, framing, local_spec, backend, pipes, args.upload_side, target, args.cache,
                             how, threshold if args.sent_only else None))
        print(f"[{time.perf_counter() - started:6.0f} s] {i + 1} {item.name} {framing} {item.kind} "
              f"(model calls {backend.calls}, run {backend.misses})", file=sys.stderr)
    print(f"truth {spec.id} (frozen recipe of passbg_dev.eval); photos {', '.join(p.stem for p in photos)}; "
          f"local: {local_spec.id}, {how.label()}; upload long side {args.upload_side}; "
          f"server: {spec.id}, steps {', '.join(pipes)}")
    summary = report(rows, list(pipes), threshold)
    score_report(rows, args, cfg)
    print(f"\n({time.perf_counter() - started:.0f} s)")
    if args.out:
        atomic.write_text(args.out, json.dumps({"summary": summary, "rows": rows}, indent=1))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return run(args)
    except PassbgError as err:
        print(f"passbg_dev.eval_server: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
