// Widen an ONNX model's 16-bit floats to 32-bit, in the browser, just before onnxruntime-web opens it.
//
// Why: onnxruntime's wasm kernels compute in fp32. Opened as it is, an fp16 model gets a Cast around
// every fp16 operation, which kept ~150 MiB more memory at the peak of a 24-megapixel photo and made
// the first inference ~0.5 s slower than the same weights stored in fp32. Storing fp32 weights instead
// would double the download (88 -> 176 MB for IS-Net). So the page downloads the fp16 file (the one
// that is pinned, verified and kept offline) and widens it here, in ~0.2 s.
//
// What changes: every FLOAT16 initializer and tensor attribute becomes FLOAT (each value converted
// exactly: fp16 -> fp32 loses nothing), Cast-to-FLOAT16 becomes Cast-to-FLOAT (onnxruntime then drops
// those casts as no-ops), FLOAT16 types of graph inputs and outputs become FLOAT, and the graph's
// value_info (optional type annotations, re-inferred on load) is dropped. A model this does not
// understand (subgraphs, external data, fp16 stored outside raw_data) is left alone: widen() returns
// null and the caller opens the original bytes.
//
// The ONNX file is protobuf; only the messages on the way to the changed fields are re-encoded, every
// other field is copied byte for byte. Field numbers are those of onnx/onnx.proto.

const FLOAT = 1;
const FLOAT16 = 10;
const MODEL = { graph: 7 };
const GRAPH = { node: 1, initializer: 5, input: 11, output: 12, valueInfo: 13, sparseInitializer: 15 };
const NODE = { opType: 4, attribute: 5 };
const ATTRIBUTE = { name: 1, i: 3, t: 5, g: 6, tensors: 10, graphs: 11, sparseTensor: 22 };
const TENSOR = { dataType: 2, int32Data: 5, rawData: 9, dataLocation: 14 };
const VALUE_INFO = { type: 2 };
const TYPE = { tensorType: 1 };
const TYPE_TENSOR = { elemType: 1 };

class Unsupported extends Error {}

// --- protobuf wire format ---------------------------------------------------------------------------

function readVarint(bytes, pos) {
  let value = 0;
  let scale = 1;
  for (;;) {
    if (pos >= bytes.length || scale > 2 ** 49) throw new Unsupported("truncated protobuf");
    const b = bytes[pos++];
    value += (b & 0x7f) * scale; // numbers stay below 2^53: plain arithmetic, no 32-bit shifts
    if (b < 0x80) return [value, pos];
    scale *= 128;
  }
}

function varint(value) {
  const out = [];
  while (value >= 0x80) {
    out.push((value % 128) | 0x80);
    value = Math.floor(value / 128);
  }
  out.push(value);
  return Uint8Array.from(out);
}

// The fields of one message: [{field, wire, start, end, valueStart, valueEnd, value}], in file order.
function fields(bytes, start = 0, end = bytes.length) {
  const out = [];
  let pos = start;
  while (pos < end) {
    const at = pos;
    let key;
    [key, pos] = readVarint(bytes, pos);
    const field = Math.floor(key / 8);
    const wire = key % 8;
    let value = null;
    let valueStart = pos;
    if (wire === 0) [value, pos] = readVarint(bytes, pos);
    else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else if (wire === 2) {
      let length;
      [length, pos] = readVarint(bytes, pos);
      valueStart = pos;
      pos += length;
    } else throw new Unsupported(`protobuf wire type ${wire}`);
    if (pos > end) throw new Unsupported("truncated protobuf");
    out.push({ field, wire, start: at, end: pos, valueStart, valueEnd: pos, value });
  }
  return out;
}

// A message as a list of byte chunks (copied fields and re-encoded ones) and its total length.
class Parts {
  constructor() {
    this.chunks = [];
    this.length = 0;
  }

  add(chunk) {
    this.chunks.push(chunk);
    this.length += chunk.length;
  }

  addParts(parts) {
    for (const chunk of parts.chunks) this.chunks.push(chunk);
    this.length += parts.length;
  }

  // A length-delimited field holding `parts`.
  addMessage(field, parts) {
    this.add(varint(field * 8 + 2));
    this.add(varint(parts.length));
    this.addParts(parts);
  }

  addVarintField(field, value) {
    this.add(varint(field * 8));
    this.add(varint(value));
  }

  join() {
    const out = new Uint8Array(this.length);
    let pos = 0;
    for (const chunk of this.chunks) {
      out.set(chunk, pos);
      pos += chunk.length;
    }
    return out;
  }
}

// --- fp16 -> fp32 ---------------------------------------------------------------------------------

let table = null; // fp16 bit pattern -> fp32 bit pattern, all 65536 of them

function halfTable() {
  if (table) return table;
  table = new Uint32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = (h & 0x8000) << 16;
    const exponent = (h >> 10) & 0x1f;
    let mantissa = h & 0x3ff;
    let bits;
    if (exponent === 0x1f) bits = sign | 0x7f800000 | (mantissa << 13); // inf, nan
    else if (exponent !== 0) bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
    else if (mantissa === 0) bits = sign; // +-0
    else {
      // subnormal half: normalise (every one is a normal float)
      let e = 113;
      while ((mantissa & 0x400) === 0) {
        mantissa <<= 1;
        e -= 1;
      }
      bits = sign | (e << 23) | ((mantissa & 0x3ff) << 13);
    }
    table[h] = bits >>> 0;
  }
  return table;
}

function widenRaw(bytes, start, end) {
  if ((end - start) % 2) throw new Unsupported("fp16 raw_data of odd length");
  const count = (end - start) / 2;
  const halves = new Uint16Array(count);
  new Uint8Array(halves.buffer).set(bytes.subarray(start, end)); // aligned copy; ONNX is little-endian
  const lookup = halfTable();
  const out = new Uint32Array(count);
  for (let i = 0; i < count; i++) out[i] = lookup[halves[i]];
  return new Uint8Array(out.buffer);
}

// --- the messages on the way ----------------------------------------------------------------------

// The message whose fields are `list` (read from `bytes`), with each field replaced by what
// `change(field)` returns (a Parts holding the whole encoded field; an empty one drops it) or copied as
// it is when that is null. Returns null when no field changed, so callers up the path copy theirs.
function rewrite(bytes, list, change) {
  const parts = new Parts();
  let changed = false;
  for (const f of list) {
    const replacement = change(f);
    if (replacement) {
      parts.addParts(replacement);
      changed = true;
    } else parts.add(bytes.subarray(f.start, f.end));
  }
  return changed ? parts : null;
}

// A length-delimited field holding `content` (Parts or bytes); null when content is null (unchanged).
function messageField(field, content) {
  if (!content) return null;
  const out = new Parts();
  if (content instanceof Parts) out.addMessage(field, content);
  else {
    out.add(varint(field * 8 + 2));
    out.add(varint(content.length));
    out.add(content);
  }
  return out;
}

function varintField(field, value) {
  const out = new Parts();
  out.addVarintField(field, value);
  return out;
}

const text = (bytes, f) => (f ? new TextDecoder().decode(bytes.subarray(f.valueStart, f.valueEnd)) : "");

function tensor(bytes, start, end) {
  const list = fields(bytes, start, end);
  const type = list.find((f) => f.field === TENSOR.dataType)?.value;
  if (type !== FLOAT16) return null; // unchanged
  if (list.some((f) => f.field === TENSOR.dataLocation && f.value !== 0)) throw new Unsupported("external data");
  if (list.some((f) => f.field === TENSOR.int32Data)) throw new Unsupported("fp16 values outside raw_data");
  return rewrite(bytes, list, (f) => {
    if (f.field === TENSOR.dataType) return varintField(TENSOR.dataType, FLOAT);
    if (f.field === TENSOR.rawData && f.wire === 2) {
      return messageField(TENSOR.rawData, widenRaw(bytes, f.valueStart, f.valueEnd));
    }
    return null;
  });
}

// TypeProto (of a graph input or output): a FLOAT16 tensor type becomes FLOAT.
function typeProto(bytes, start, end) {
  const elemType = (g) =>
    g.field === TYPE_TENSOR.elemType && g.value === FLOAT16 ? varintField(TYPE_TENSOR.elemType, FLOAT) : null;
  return rewrite(bytes, fields(bytes, start, end), (f) =>
    f.field === TYPE.tensorType && f.wire === 2
      ? messageField(TYPE.tensorType, rewrite(bytes, fields(bytes, f.valueStart, f.valueEnd), elemType))
      : null,
  );
}

function valueInfo(bytes, start, end) {
  return rewrite(bytes, fields(bytes, start, end), (f) =>
    f.field === VALUE_INFO.type && f.wire === 2
      ? messageField(VALUE_INFO.type, typeProto(bytes, f.valueStart, f.valueEnd))
      : null,
  );
}

function attribute(bytes, start, end, opType) {
  const list = fields(bytes, start, end);
  const name = text(bytes, list.find((f) => f.field === ATTRIBUTE.name));
  return rewrite(bytes, list, (f) => {
    if ([ATTRIBUTE.g, ATTRIBUTE.graphs].includes(f.field)) throw new Unsupported("a subgraph");
    if (f.field === ATTRIBUTE.sparseTensor) throw new Unsupported("a sparse tensor attribute");
    if (opType === "Cast" && name === "to" && f.field === ATTRIBUTE.i && f.value === FLOAT16) {
      return varintField(ATTRIBUTE.i, FLOAT);
    }
    if ((f.field === ATTRIBUTE.t || f.field === ATTRIBUTE.tensors) && f.wire === 2) {
      return messageField(f.field, tensor(bytes, f.valueStart, f.valueEnd));
    }
    return null;
  });
}

function node(bytes, start, end) {
  const list = fields(bytes, start, end);
  const opType = text(bytes, list.find((f) => f.field === NODE.opType));
  return rewrite(bytes, list, (f) =>
    f.field === NODE.attribute && f.wire === 2
      ? messageField(NODE.attribute, attribute(bytes, f.valueStart, f.valueEnd, opType))
      : null,
  );
}

function graph(bytes, start, end) {
  let widened = 0;
  const parts = rewrite(bytes, fields(bytes, start, end), (f) => {
    if (f.field === GRAPH.sparseInitializer) throw new Unsupported("sparse initializers");
    if (f.field === GRAPH.valueInfo) return new Parts(); // optional annotations: onnxruntime infers them again
    if (f.wire !== 2) return null;
    if (f.field === GRAPH.initializer) {
      const wide = messageField(f.field, tensor(bytes, f.valueStart, f.valueEnd));
      if (wide) widened += 1;
      return wide;
    }
    if (f.field === GRAPH.node) return messageField(f.field, node(bytes, f.valueStart, f.valueEnd));
    if (f.field === GRAPH.input || f.field === GRAPH.output) {
      return messageField(f.field, valueInfo(bytes, f.valueStart, f.valueEnd));
    }
    return null;
  });
  return { parts, widened };
}

// The model with its fp16 weights widened to fp32, or null when it has none or is not understood.
export function widen(bytes) {
  try {
    let widened = 0;
    const parts = rewrite(bytes, fields(bytes), (f) => {
      if (f.field !== MODEL.graph || f.wire !== 2) return null;
      const g = graph(bytes, f.valueStart, f.valueEnd);
      widened += g.widened;
      return messageField(MODEL.graph, g.parts);
    });
    return widened ? parts.join() : null;
  } catch (err) {
    if (err instanceof Unsupported) {
      console.warn(`passbg: the model keeps its fp16 weights (${err.message})`);
      return null;
    }
    throw err;
  }
}
