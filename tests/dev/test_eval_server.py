"""python -m passbg_dev.eval_server --rows: an earlier run's rows reported and refit again, no model runs."""

import json

from passbg.quality import checks
from passbg_dev import eval_server as es


def _rows(n_photos: int = 8) -> list[dict]:
    """Per photo, tight and loose local results on white; the bad ones (strays at its 'bad' value) are
    sent (score below the threshold) and the server's answer has half their SAD."""
    cfg = checks.default_config()
    ok = {cid: c["ok"] for cid, c in cfg["checks"].items()}
    rows = []
    for i in range(n_photos):
        for j, framing in enumerate(("tight", "loose")):
            bad = (i + j) % 3 == 0
            values = dict(ok, strays=cfg["checks"]["strays"]["bad"] if bad else 0.0)
            score = 10.0 if bad else 95.0
            base = {"framing": framing, "name": f"p{i}", "kind": "white", "checks": values}
            metrics = {
                "sad": 8.0 if bad else 1.0,
                "grad": 2.0,
                "halo_de": 5.0,
                "halo_ideal": 9.0,
                "score": score,
            }
            rows.append(base | {"variant": "local", "metrics": metrics, "bad": bad})
            if bad:
                answer = dict(metrics, sad=4.0, score=80.0)
                rows.append(base | {"variant": "flip + region", "metrics": answer, "bad": False})
    return rows


def test_stored_rows_are_reported_and_refit_without_model_runs(tmp_path, capsys):
    stored = tmp_path / "run.json"
    stored.write_text(json.dumps({"summary": {}, "rows": _rows()}))
    fitted = tmp_path / "fit.json"
    assert es.main(["--rows", str(stored), "--calibrate", str(fitted)]) == 0
    printed = capsys.readouterr().out
    sent = [line for line in printed.splitlines() if line.strip().startswith("both/ALL") and "flip" in line]
    assert sent and sent[0].split()[-2:] == ["100%", "100%"]  # SAD lower and score higher on every sent one
    for framing in ("tight", "loose"):
        assert f"refit {framing:<6} held-out" in printed
    assert json.loads(fitted.read_text())["cloud_below"] > 10


def test_a_file_that_is_not_a_report_gets_a_plain_message(tmp_path, capsys):
    bad = tmp_path / "x.json"
    bad.write_text("[1, 2]")
    assert es.main(["--rows", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("passbg_dev.eval_server: ") and "not a report" in err
