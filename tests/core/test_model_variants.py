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


# Portraits the calibration table (build/isnet-int8-calibration.json: 12 evenly spaced portraits) did not
# see: a flag behind loose hair (the peer's dynamic quint8 speckles it), long hair with glasses on a busy
# backdrop, long blond curls on a plain one.
HELD_OUT = ("usc_B000740.jpg", "usc_S001159.jpg", "usc_W000797.jpg")


@pytest.mark.slow
@pytest.mark.parametrize("long_side", [768, 1024])
def test_the_calibrated_8bit_isnet_keeps_the_16bit_mask_on_portraits_it_was_not_calibrated_on(
    manifest, portraits_dir, long_side
):
    """The bound the 8-bit model was adopted on (build/derive_model.py int8): |delta alpha| against the
    16-bit model, mean under 1/255 and p99 under 12/255 per portrait (41 held-out portraits at 1024: a
    mean of 0.14/255 and a p99 of 2.7/255 on average; MinMax ranges gave p99s of 30-120), and no speckle
    (no pixel the 16-bit model calls background, alpha < 0.02, that the 8-bit one lifts above 0.25)."""
    import onnxruntime as ort

    from passbg.core import region

    if "isnet-int8" not in manifest.models:
        pytest.skip("isnet-int8 is not built")
    fp16, int8 = manifest.get("isnet-fp16"), manifest.get("isnet-int8")
    assert int8.input.any_size and int8.input == fp16.input
    sessions = [ort.InferenceSession(str(s.path), providers=["CPUExecutionProvider"]) for s in (fp16, int8)]
    for name in HELD_OUT:
        rgb = decode.decode_image((portraits_dir / "images" / name).read_bytes()).rgb
        size = region.input_size((0, 0, rgb.shape[1], rgb.shape[0]), fp16, long_side=long_side)
        tensor = preprocess.to_tensor(rgb, fp16, size)
        a, b = (np.clip(s.run(None, {fp16.input.name: tensor})[0].squeeze(), 0, 1) for s in sessions)
        diff = np.abs(a - b) * 255.0
        p99 = np.percentile(diff, 99)
        speckle = int(np.sum((a < 0.02) & (b > 0.25)))
        print(f"\n{name} at {size}: mean {diff.mean():.3f}/255, p99 {p99:.2f}/255, speckle px {speckle}")
        assert diff.mean() < 1.0 and p99 < 12, name
        assert speckle < 0.0005 * a.size, name


def test_the_8bit_isnet_keeps_its_output_head_in_float(manifest):
    """The last Conv, its Resize and the Sigmoid are not quantized: the logits there span ~1000, so a
    uint8 step would be ~4 logits, coarser than the whole soft hair band (see build/derive_model.py)."""
    import onnx

    if "isnet-int8" not in manifest.models:
        pytest.skip("isnet-int8 is not built")
    graph = onnx.load(str(manifest.get("isnet-int8").path)).graph
    producer = {o: n for n in graph.node for o in n.output}
    sigmoid = producer[graph.output[0].name]
    assert sigmoid.op_type == "Sigmoid"
    resize = producer[sigmoid.input[0]]
    assert resize.op_type == "Resize"
    conv = producer[resize.input[0]]
    assert conv.op_type == "Conv"
    weight = producer.get(conv.input[1])
    assert weight is None, "the head's weights are float initializers, not dequantized int8"
    assert sum(n.op_type == "QuantizeLinear" for n in graph.node) > 100  # the rest is 8-bit
