"""Derive a wasm-friendly model variant from a fetched ONNX file (run by build.py with .venv's Python).

    python build/derive_model.py prune SRC DEST     drop the side outputs (keep the weight type)
    python build/derive_model.py any-size SRC DEST  accept any input height and width (same weights)
    python build/derive_model.py widen SRC DEST     fp16 weights -> fp32, the Casts around them dropped
    python build/derive_model.py quantize SRC DEST TABLE
                                                   static 8-bit QDQ (uint8 activations, int8 per-channel
                                                   weights) of an fp32 file, from a calibration table
    python build/derive_model.py int8 SRC DEST TABLE
                                                   the shipped 8-bit IS-Net: widen (when fp16), prune,
                                                   quantize with the output head kept in float

Why: IS-Net has 11 side outputs (deep supervision heads) that the app never reads; a variant without
them and the layers only they use is the same size and gives the same mask. The output is a pure
function of the input bytes (no timestamps, no random ids), so its sha256 can be pinned.

There is no fp16 -> fp32 recipe any more: a stored fp32 copy doubled IS-Net to 176 MB (on a 100 Mbit/s
link the first result came 11 s later, 33.5 s against 22.4 s, and the offline copy held both files).
The page downloads the fp16 file and widens it in the browser instead (static/app/onnx-widen.mjs),
which keeps what fp32 gains in onnxruntime-web: ~150 MiB less peak memory and a faster first run.

Needs the `onnx` package (the `models` extra of pyproject.toml); `quantize` also needs onnxruntime.

Why `quantize` reads a table instead of photos: the activation ranges come from running the model on
the shared portraits (`python -m passbg_dev.calibrate`, a developer tool), which a user's build does not
have; the committed table makes the build's output a pure function of (SRC, TABLE), so it can be pinned.
Why the output head stays float and the table is Percentile, not MinMax: the last Conv's logits span
about -1000..18 on the portraits, so one uint8 step there is ~4 logits and the sigmoid's edge (the whole
hair band lives within +-5 logits) collapses to a few levels (MinMax, all quantized: a held-out matte moved
by a p99 of 30-120/255). Percentile 99.99 ranges clip the rare extreme activations elsewhere; with the head
(last Conv, its Resize, the Sigmoid) in float the held-out mattes move by a mean of 0.1/255 and a p99 of
~2/255; `python -m passbg_dev.calibrate --compare FILE` measures a candidate.
"""

from __future__ import annotations

import sys
from pathlib import Path

import onnx

KEEP_OUTPUT = "output"


def prune_outputs(model: onnx.ModelProto, keep: str = KEEP_OUTPUT) -> None:
    """Keep only the graph output `keep`, and only the nodes and weights it depends on."""
    graph = model.graph
    wanted = [o for o in graph.output if o.name == keep]
    if not wanted:
        raise SystemExit(f"the model has no output named {keep!r}")
    del graph.output[:]
    graph.output.extend(wanted)
    producer = {name: node for node in graph.node for name in node.output}
    needed, todo = set(), [keep]
    while todo:
        name = todo.pop()
        if name in needed:
            continue
        needed.add(name)
        if name in producer:
            todo.extend(i for i in producer[name].input if i)
    kept = [node for node in graph.node if any(name in needed for name in node.output)]
    del graph.node[:]
    graph.node.extend(topological(kept, {i.name for i in graph.input} | {i.name for i in graph.initializer}))
    inits = [i for i in graph.initializer if i.name in needed]
    del graph.initializer[:]
    graph.initializer.extend(inits)
    infos = [v for v in graph.value_info if v.name in needed]
    del graph.value_info[:]
    graph.value_info.extend(infos)


def any_size(model: onnx.ModelProto) -> int:
    """Let the graph take any input height and width: returns how many Resize targets were rewritten.

    Why: IS-Net and U2-Net were exported from PyTorch with their input fixed (1024 or 320 square), and
    each decoder `upsample_like(src, tar)` was traced as Resize(src, sizes=Concat(Shape(src)[0:2],
    Constant [h, w])): the target's height and width baked in as numbers. Making the input dims symbolic
    alone therefore fails at the first skip connection (a 25-wide skip meets a 32-wide upsample). The
    rewrite replaces each baked [h, w] with Shape(tar)[2:4] of the tensor the upsample is concatenated
    or added with (the side outputs upsample to the input itself), which is what the PyTorch code
    computes. At the export size every number is the same, so the mask is unchanged there."""
    graph = model.graph
    producer = {o: n for n in graph.node for o in n.output}
    consumers: dict[str, list] = {}
    for n in graph.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
    const_of = {}
    for n in graph.node:
        if n.op_type == "Constant":
            const_of[n.output[0]] = n
    input_name = graph.input[0].name

    def through_casts(name: str) -> list[tuple]:
        """(consumer node, the input name it reads) past any Cast nodes (the fp16 file casts around
        each Resize)."""
        out = []
        for c in consumers.get(name, []):
            if c.op_type == "Cast":
                out.extend(through_casts(c.output[0]))
            else:
                out.append((c, name))
        return out

    new_nodes = []
    rewritten = 0
    for node in list(graph.node):
        if node.op_type != "Resize" or len(node.input) < 4 or not node.input[3]:
            continue
        sizes = producer.get(node.input[3])
        if sizes is None or sizes.op_type != "Concat" or len(sizes.input) != 2:
            continue
        baked = const_of.get(sizes.input[1])
        if baked is None:
            continue
        tar = input_name
        for c, via in through_casts(node.output[0]):
            if c.op_type in ("Concat", "Add"):
                others = [i for i in c.input if i != via]
                if others:
                    tar = others[0]
                    break
        shape_out = f"{node.name}/any_size/target_hw"
        shape = onnx.helper.make_node(
            "Shape", [tar], [shape_out], name=f"{node.name}/any_size/Shape", start=2, end=4
        )
        new_nodes.append(shape)
        sizes.input[1] = shape_out
        rewritten += 1
    graph.node.extend(new_nodes)
    # The baked [h, w] constants are now unused; drop them (onnxruntime warns about each otherwise).
    used = {i for n in graph.node for i in n.input} | {o.name for o in graph.output}
    kept = [n for n in graph.node if n.op_type != "Constant" or n.output[0] in used]
    del graph.node[:]
    graph.node.extend(kept)
    for v in list(graph.input) + list(graph.output):
        dims = v.type.tensor_type.shape.dim
        if len(dims) == 4:
            for d, name in ((dims[2], "height"), (dims[3], "width")):
                d.ClearField("dim_value")
                d.dim_param = name
    del graph.value_info[:]  # the traced shapes are the export size's; onnxruntime infers its own
    nodes = topological(list(graph.node), {i.name for i in graph.input} | {i.name for i in graph.initializer})
    del graph.node[:]
    graph.node.extend(nodes)
    return rewritten


def has_fp16_weights(model: onnx.ModelProto) -> bool:
    """Whether any initializer is fp16 (the file needs `widen` before quantization or calibration)."""
    return any(i.data_type == onnx.TensorProto.FLOAT16 for i in model.graph.initializer)


def widen(model: onnx.ModelProto) -> int:
    """fp16 initializers and Constant tensors -> fp32 and every Cast dropped (the fp16 file casts to and
    from fp16 around the graph's input, output and each Resize): returns how many Casts were dropped.

    Why: onnxruntime's quantizer and its CPU/wasm kernels work on fp32 graphs; a Cast left in place would
    cut each quantized run of nodes in two."""
    import numpy as np
    from onnx import TensorProto, numpy_helper

    graph = model.graph
    for k, init in enumerate(graph.initializer):
        if init.data_type == TensorProto.FLOAT16:
            wide = numpy_helper.to_array(init).astype(np.float32)
            graph.initializer[k].CopyFrom(numpy_helper.from_array(wide, init.name))
    alias = {n.output[0]: n.input[0] for n in graph.node if n.op_type == "Cast"}

    def source(name: str) -> str:
        while name in alias:
            name = alias[name]
        return name

    kept = [n for n in graph.node if n.op_type != "Cast"]
    # A graph output that a Cast produced keeps its name: the node that fed the Cast now writes it.
    renamed = {source(o.name): o.name for o in graph.output if source(o.name) != o.name}
    for node in kept:
        for k, name in enumerate(node.input):
            node.input[k] = renamed.get(source(name), source(name))
        for k, name in enumerate(node.output):
            node.output[k] = renamed.get(name, name)
        for attr in node.attribute:
            if attr.name == "value" and attr.t.data_type == TensorProto.FLOAT16:
                attr.t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(attr.t).astype(np.float32)))
    for v in list(graph.input) + list(graph.output):
        if v.type.tensor_type.elem_type == TensorProto.FLOAT16:
            v.type.tensor_type.elem_type = TensorProto.FLOAT
    del graph.value_info[:]
    nodes = topological(kept, {i.name for i in graph.input} | {i.name for i in graph.initializer})
    del graph.node[:]
    graph.node.extend(nodes)
    return len(alias)


def output_head(model: onnx.ModelProto) -> list[str]:
    """Names of the nodes from the graph's first output back to and including the first Conv (IS-Net:
    the last Conv, the Resize to the input size, the Sigmoid): the layers that turn features into alpha."""
    graph = model.graph
    producer = {o: n for n in graph.node for o in n.output}
    inits = {i.name for i in graph.initializer}
    names, name = [], graph.output[0].name
    while name in producer:
        node = producer[name]
        names.append(node.name)
        if node.op_type == "Conv":
            return names
        data = [i for i in node.input if i and i not in inits and i in producer
                and producer[i].op_type not in ("Constant", "Shape", "Concat", "Gather", "Slice")]
        if not data:
            break
        name = data[0]
    raise SystemExit("the model's output is not produced by a Conv followed by elementwise layers")


def quantize(src: Path | onnx.ModelProto, dest: Path, table: Path, keep_float: list[str] = ()) -> None:
    """Static QDQ quantization of the fp32 model `src` with the activation ranges in `table` (written by
    onnxruntime.quantization.calibrate.save_tensors_data; its calibration method is used): uint8
    activations, int8 weights per output channel (the U8S8 pair onnxruntime's CPU and wasm int8 kernels
    run); the nodes named in keep_float stay float."""
    import logging

    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.calibrate import load_tensors_data

    # The quantizer's advice to run its pre-processing (shape inference, for ops we do not quantize) would
    # read as a build problem.
    logging.getLogger().setLevel(logging.ERROR)
    model = src if isinstance(src, onnx.ModelProto) else onnx.load(str(src))
    opset = next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
    if opset < 13:  # per-channel DequantizeLinear (its axis attribute) needs opset 13
        model = onnx.version_converter.convert_version(model, 13)
    quantize_static(
        model, str(dest), None, quant_format=QuantFormat.QDQ, per_channel=True,
        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
        calibrate_method=load_tensors_data(table).calibration_method, calibration_cache_path=str(table),
        nodes_to_exclude=list(keep_float),
    )


def int8(src: Path, dest: Path, table: Path) -> None:
    """The shipped 8-bit model: `src` widened when it is fp16, pruned to its one output, quantized with
    `table` and its output head (output_head) kept in float."""
    model = onnx.load(str(src))
    if has_fp16_weights(model):
        widen(model)
    prune_outputs(model)
    quantize(model, dest, table, keep_float=output_head(model))


def topological(nodes: list, available: set[str]) -> list:
    """The nodes in an order where every input is produced before use (the fp16 file is not sorted,
    which onnxruntime tolerates but the ONNX checker does not). Ties keep the file's order."""
    available = set(available) | {""}
    done: list = []
    pending = list(nodes)
    while pending:
        ready = [n for n in pending if all(i in available for i in n.input)]
        if not ready:
            raise SystemExit("the graph has a cycle or an input nobody produces")
        ready_ids = {id(n) for n in ready}
        for node in ready:
            available.update(node.output)
        done.extend(ready)
        pending = [n for n in pending if id(n) not in ready_ids]
    return done


def main(argv: list[str]) -> int:
    recipes = {"prune": 3, "any-size": 3, "widen": 3, "quantize": 4, "int8": 4}
    if not argv or recipes.get(argv[0]) != len(argv):
        print(__doc__, file=sys.stderr)
        return 2
    src, dest = Path(argv[1]), Path(argv[2])
    tmp = dest.with_name(dest.name + ".part")
    try:
        if argv[0] == "quantize":
            quantize(src, tmp, Path(argv[3]))
        elif argv[0] == "int8":
            int8(src, tmp, Path(argv[3]))
        else:
            model = onnx.load(str(src))
            if argv[0] == "prune":
                prune_outputs(model)
            elif argv[0] == "widen":
                widen(model)
            elif any_size(model) == 0:
                raise SystemExit(f"{src.name}: no Resize with a baked target size found; nothing to rewrite")
            onnx.checker.check_model(model)
            tmp.write_bytes(model.SerializeToString(deterministic=True))
        tmp.replace(dest)
    finally:
        tmp.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
