"""The build-time model variants the browser loads (static/models/variants.json, made by
build/derive_model.py) give the same masks as the original files CPython uses."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from passbg.core import decode, preprocess

PHOTO = "usc_S001159.jpg"  # long loose hair against a busy backdrop: the soft edges that matter


def _variants(manifest) -> list[tuple[str, dict]]:
    path = Path(manifest.get(manifest.default).path).parent / "variants.json"
    if not path.is_file():
        pytest.skip("static/models/variants.json is not built: run python build.py")
    table = json.loads(path.read_text())
    return [(spec.id, table[spec.file]) for spec in manifest.models.values() if spec.file in table]


def test_every_wasm_variant_gives_the_original_models_mask(manifest, portraits_dir):
    import onnxruntime as ort

    variants = _variants(manifest)
    assert variants, "no model has a wasm variant"
    image = decode.decode_image((portraits_dir / "images" / PHOTO).read_bytes())
    for model_id, variant in variants:
        spec = manifest.get(model_id)
        tensor = preprocess.to_tensor(image.rgb, spec)
        masks = []
        for path in (spec.path, spec.path.parent / variant["file"]):
            session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
            (mask,) = session.run(["output"], {spec.input.name: tensor})
            masks.append(mask.squeeze())
        # the variant keeps one output only: the mask
        assert [o.name for o in session.get_outputs()] == ["output"]
        diff = np.abs(masks[0].astype(np.float64) - masks[1]) * 255.0
        print(f"\n{model_id} vs {variant['file']}: max {diff.max():.4f}/255, mean {diff.mean():.6f}/255")
        # Only the side heads are gone: the mask itself must not move by a visible amount.
        assert diff.max() < 0.5
