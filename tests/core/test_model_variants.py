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


def test_the_any_size_model_gives_the_fetched_mask_at_1024_and_runs_at_other_sizes(manifest, portraits_dir):
    """build/derive_model.py any-size: the shipped IS-Net takes any height and width, with the fetched
    file's mask at the export size (the rewrite only replaces traced constants by the shapes they were)."""
    import onnxruntime as ort
    from PIL import Image

    spec = manifest.get("isnet-fp16")
    assert spec.input.any_size
    fetched = spec.path.parent / ".fetched" / spec.file
    image = decode.decode_image((portraits_dir / "images" / PHOTO).read_bytes())
    tensor = preprocess.to_tensor(image.rgb, spec)
    shipped = ort.InferenceSession(str(spec.path), providers=["CPUExecutionProvider"])
    (full,) = shipped.run(["output"], {spec.input.name: tensor})
    if fetched.is_file():
        original = ort.InferenceSession(str(fetched), providers=["CPUExecutionProvider"])
        (before,) = original.run(["output"], {spec.input.name: tensor})
        assert np.abs(full - before).max() < 1e-3
        with pytest.raises(Exception, match="(?i)dimension"):
            original.run(["output"], {spec.input.name: tensor[:, :, :640, :512]})
    # 640x512 (not square, 512 not a multiple of 64): the mask agrees with the 1024 one scaled down.
    small = np.asarray(Image.fromarray(image.rgb).resize((512, 640), Image.BILINEAR))
    t_small = (small.transpose(2, 0, 1)[None].astype(np.float32) / 255.0 - 0.50196) / 1.00392
    (out,) = shipped.run(["output"], {spec.input.name: t_small.astype(np.float32)})
    assert out.shape == (1, 1, 640, 512)
    ref = Image.fromarray(full.squeeze().astype(np.float32), "F").resize((512, 640), Image.BILINEAR)
    ref = np.asarray(ref)
    a, b = out.squeeze() > 0.5, ref > 0.5
    assert (a & b).sum() / (a | b).sum() > 0.93
