// The browser's decoders for the photos Pyodide's Pillow cannot read as CPython does (imported by
// passbg.app.web.decoding in the Python worker): HEIC, AVIF, and files with a colour profile (Pyodide's
// Pillow has no littlecms). createImageBitmap decodes what the browser knows, applies the orientation and
// converts the profile to sRGB. HEIC that the browser cannot read (Chromium) is decoded by libheif-js
// (static/vendor/libheif/, imported on the first such file, its wasm heap dropped after each photo); its
// profile is then converted by the browser too, by handing it the pixels as a PNG that carries the
// profile (iCCP), so one colour engine does every conversion. The photo is shrunk to the working size
// before the profile is converted, in the order CPython's passbg.core.decode does it.
//
// decodePhoto resolves to {rgba: Uint8ClampedArray (straight alpha, sRGB), width, height, originalWidth,
// originalHeight (upright), colour: "converted" | "untagged", decoder, notes: string[]}; it rejects with
// the decoder's words when the file cannot be decoded.

const MIME = { HEIC: "image/heic", AVIF: "image/avif", JPEG: "image/jpeg", PNG: "image/png", WEBP: "image/webp" };
const DECODE = { imageOrientation: "from-image", colorSpaceConversion: "default", premultiplyAlpha: "none" };
const LIBHEIF = new URL("../vendor/libheif/libheif-bundle.mjs", import.meta.url).href;

export async function decodePhoto(bytes, format, maxSide, icc) {
  const blob = new Blob([bytes], { type: MIME[format] || "" });
  let full;
  try {
    full = await createImageBitmap(blob, DECODE);
  } catch (err) {
    if (format !== "HEIC") throw new Error(`the browser cannot decode this ${format} file (${words(err)})`);
    return decodeHeic(bytes, maxSide, icc);
  }
  const [originalWidth, originalHeight] = [full.width, full.height];
  const { rgba, width, height } = pixels(await shrink(full, originalWidth, originalHeight, maxSide));
  return { rgba, width, height, originalWidth, originalHeight, colour: icc ? "converted" : "untagged",
           decoder: "browser", notes: [] };
}

async function decodeHeic(bytes, maxSide, icc) {
  const full = await libheifDecode(bytes);
  const { width, height } = full;
  let out = pixels(await shrink(full, width, height, maxSide));
  if (icc) out = pixels(await createImageBitmap(await withProfile(out, icc), DECODE));
  return { ...out, originalWidth: width, originalHeight: height, colour: icc ? "converted" : "untagged",
           decoder: "libheif-js", notes: [] };
}

// The primary image, upright (libheif applies irot/imir), as full-size RGBA. A fresh libheif instance per
// photo, unreachable once this returns: its wasm memory only grows (hundreds of MB for 48 MP), and an
// unreferenced instance can be collected while the photo is shrunk, instead of staying for the page's life.
async function libheifDecode(bytes) {
  const { default: libheif } = await import(LIBHEIF);
  const lib = libheif();
  const images = new lib.HeifDecoder().decode(bytes); // [] when libheif cannot parse the file
  if (!images.length) throw new Error("libheif cannot read the file's structure");
  try {
    // (HeifImage.is_primary calls a name the 1.19.8 wrapper does not define; the binding itself works)
    const image = images.find((i) => lib.heif_image_handle_is_primary_image(i.handle)) ?? images[0];
    const full = new ImageData(image.get_width(), image.get_height());
    await new Promise((resolve, reject) =>
      image.display(full, (done) => (done ? resolve() : reject(new Error("libheif could not decode the image")))));
    return full;
  } finally {
    for (const i of images) i.free();
  }
}

// The working size exactly as passbg.core.decode computes it (half-way sizes aside: Python rounds them to
// even, so Python gets the pixels as they are and shrinks no further when the long side fits).
async function shrink(source, width, height, maxSide) {
  const scale = Math.min(1, maxSide / Math.max(width, height));
  if (scale >= 1) return source;
  const resized = await createImageBitmap(source, {
    resizeWidth: Math.max(1, Math.round(width * scale)),
    resizeHeight: Math.max(1, Math.round(height * scale)),
    resizeQuality: "high",
    premultiplyAlpha: "none",
    colorSpaceConversion: "none",
  });
  source.close?.();
  return resized;
}

function pixels(image) {
  if (image instanceof ImageData) return { rgba: image.data, width: image.width, height: image.height };
  const { width, height } = image;
  const canvas = new OffscreenCanvas(width, height);
  const ctx = canvas.getContext("2d", { colorSpace: "srgb", willReadFrequently: true });
  ctx.drawImage(image, 0, 0);
  image.close();
  return { rgba: ctx.getImageData(0, 0, width, height, { colorSpace: "srgb" }).data, width, height };
}

// --- a PNG that carries an ICC profile, so the browser's colour engine converts the pixels ----------
// Uncompressed (stored deflate blocks): for a working-size photo that is faster than compressing it,
// and the bytes never leave this worker.

async function withProfile({ rgba, width, height }, icc) {
  const rows = new Uint8Array((width * 4 + 1) * height);
  for (let y = 0; y < height; y++) rows.set(rgba.subarray(y * width * 4, (y + 1) * width * 4), y * (width * 4 + 1) + 1);
  const ihdr = new Uint8Array(13);
  new DataView(ihdr.buffer).setUint32(0, width);
  new DataView(ihdr.buffer).setUint32(4, height);
  ihdr.set([8, 6, 0, 0, 0], 8); // 8 bits, RGBA, deflate, no filter method beyond 0, no interlace
  const iccp = concat([new TextEncoder().encode("icc\0"), new Uint8Array([0]), zlibStored(new Uint8Array(icc))]);
  const png = concat([
    new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10]),
    chunk("IHDR", ihdr), chunk("iCCP", iccp), chunk("IDAT", zlibStored(rows)), chunk("IEND", new Uint8Array()),
  ]);
  return new Blob([png], { type: "image/png" });
}

function zlibStored(data) {
  const blocks = Math.max(1, Math.ceil(data.length / 65535));
  const out = new Uint8Array(2 + data.length + 5 * blocks + 4);
  out.set([0x78, 0x01]);
  let at = 2;
  for (let i = 0; i < blocks; i++) {
    const part = data.subarray(i * 65535, Math.min(data.length, (i + 1) * 65535));
    out[at] = i === blocks - 1 ? 1 : 0;
    out[at + 1] = part.length & 255;
    out[at + 2] = part.length >> 8;
    out[at + 3] = ~part.length & 255;
    out[at + 4] = (~part.length >> 8) & 255;
    out.set(part, at + 5);
    at += 5 + part.length;
  }
  let a = 1, b = 0; // Adler-32, reduced every 4096 bytes (well within 2^53)
  for (let i = 0; i < data.length; i += 4096) {
    const end = Math.min(data.length, i + 4096);
    for (let j = i; j < end; j++) { a += data[j]; b += a; }
    a %= 65521; b %= 65521;
  }
  new DataView(out.buffer).setUint32(at, ((b << 16) | a) >>> 0);
  return out;
}

let crcTable = null;
function crc32(bytes, crc = 0xffffffff) {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  for (let i = 0; i < bytes.length; i++) crc = crcTable[(crc ^ bytes[i]) & 255] ^ (crc >>> 8);
  return crc;
}

function chunk(type, data) {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  out.set(new TextEncoder().encode(type), 4);
  out.set(data, 8);
  view.setUint32(8 + data.length, (crc32(out.subarray(4, 8 + data.length)) ^ 0xffffffff) >>> 0);
  return out;
}

function concat(parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

function words(err) {
  return String(err?.message || err || "no reason given");
}
