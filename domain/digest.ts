/**
 * SHA-256 (FIPS 180-4) in plain TypeScript. The domain may not use Node's crypto (it runs in
 * the workflow sandbox too), and the duplicate window needs a digest a caller cannot steer: a
 * key that collides with an earlier one would be answered as a duplicate and go uncharged.
 */

const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be,
  0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa,
  0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85,
  0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3,
  0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f,
  0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

// The globals used on the intake's hot path, bound once: in the workflow sandbox (a V8
// context of its own) every lookup of a global such as `Math` goes through the context's
// interceptor, about 0.3 µs each, which made a per-character `Math.imul` ten times slower
// there than in plain Node (bench: a domain batch in a vm context against the same in Node).
const { ceil, floor, imul, min } = Math;

/** An element known to exist (the indexes below are all in range). */
function at(list: ArrayLike<number>, i: number): number {
  return list[i] ?? 0;
}

// Scratch space of sha256, reused: a digest per usage event is on the intake's hot path, and
// allocating a message, a schedule and a state for each is a good part of its cost. Nothing
// yields inside sha256, so one set per module (per workflow, in the sandbox) is enough.
let scratch = new Uint8Array(128);
const W = new Int32Array(64);
const H = new Int32Array(8);
const H0 = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];

/**
 * Write the UTF-8 bytes of `text` (lone surrogates as U+FFFD) into `scratch` from 0, growing
 * it when a text needs more room than the padding leaves; returns how many bytes were written.
 */
function encodeIntoScratch(text: string): number {
  // At most 3 bytes a UTF-16 code unit, and 72 more for the padding and the length.
  if (scratch.length < text.length * 3 + 72) scratch = new Uint8Array(ceil((text.length * 3 + 72) / 64) * 64 * 2);
  const out = scratch;
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    if (c < 0x80) {
      out[n++] = c;
      continue;
    }
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      c = 0x10000 + ((c - 0xd800) << 10) + (text.charCodeAt(i + 1) - 0xdc00);
      i += 1;
    } else if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
    if (c < 0x800) {
      out[n++] = 0xc0 | (c >> 6);
      out[n++] = 0x80 | (c & 63);
    } else if (c < 0x10000) {
      out[n++] = 0xe0 | (c >> 12);
      out[n++] = 0x80 | ((c >> 6) & 63);
      out[n++] = 0x80 | (c & 63);
    } else {
      out[n++] = 0xf0 | (c >> 18);
      out[n++] = 0x80 | ((c >> 12) & 63);
      out[n++] = 0x80 | ((c >> 6) & 63);
      out[n++] = 0x80 | (c & 63);
    }
  }
  return n;
}

/** SHA-256 of the UTF-8 bytes of `text`: 32 bytes. */
export function sha256(text: string): Uint8Array {
  const length = encodeIntoScratch(text);
  const bytes = scratch;
  const bitLength = length * 8;
  // The message, a 1 bit, zeros, and its length in bits as 64-bit big-endian: whole 64-byte blocks.
  const end = ceil((length + 9) / 64) * 64;
  bytes[length] = 0x80;
  bytes.fill(0, length + 1, end - 8);
  const high = floor(bitLength / 0x100000000);
  bytes[end - 8] = high >>> 24;
  bytes[end - 7] = high >>> 16;
  bytes[end - 6] = high >>> 8;
  bytes[end - 5] = high;
  bytes[end - 4] = bitLength >>> 24;
  bytes[end - 3] = bitLength >>> 16;
  bytes[end - 2] = bitLength >>> 8;
  bytes[end - 1] = bitLength;
  const h = H;
  h.set(H0);
  const w = W;
  for (let block = 0; block < end; block += 64) {
    for (let t = 0; t < 16; t++) {
      const i = block + t * 4;
      w[t] = (at(bytes, i) << 24) | (at(bytes, i + 1) << 16) | (at(bytes, i + 2) << 8) | at(bytes, i + 3);
    }
    for (let t = 16; t < 64; t++) {
      const x = at(w, t - 15);
      const y = at(w, t - 2);
      const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
      const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
      w[t] = (at(w, t - 16) + s0 + at(w, t - 7) + s1) | 0;
    }
    let a = at(h, 0);
    let b = at(h, 1);
    let c = at(h, 2);
    let d = at(h, 3);
    let e = at(h, 4);
    let f = at(h, 5);
    let g = at(h, 6);
    let hh = at(h, 7);
    for (let t = 0; t < 64; t++) {
      const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const ch = (e & f) ^ (~e & g);
      const t1 = (hh + S1 + ch + at(K, t) + at(w, t)) | 0;
      const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const maj = (a & b) ^ (a & c) ^ (b & c);
      const t2 = (S0 + maj) | 0;
      hh = g;
      g = f;
      f = e;
      e = (d + t1) | 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) | 0;
    }
    h[0] = at(h, 0) + a;
    h[1] = at(h, 1) + b;
    h[2] = at(h, 2) + c;
    h[3] = at(h, 3) + d;
    h[4] = at(h, 4) + e;
    h[5] = at(h, 5) + f;
    h[6] = at(h, 6) + g;
    h[7] = at(h, 7) + hh;
  }
  const out = new Uint8Array(32);
  for (let i = 0; i < 8; i++) {
    const v = at(h, i);
    out[i * 4] = v >>> 24;
    out[i * 4 + 1] = (v >>> 16) & 255;
    out[i * 4 + 2] = (v >>> 8) & 255;
    out[i * 4 + 3] = v & 255;
  }
  return out;
}

/** The first `bits` (at most 53) bits of a digest as a non-negative integer. */
export function leadingBits(digest: Uint8Array, bits: number): number {
  let value = 0;
  let taken = 0;
  for (let i = 0; taken < bits; i++) {
    const take = min(8, bits - taken);
    value = value * 2 ** take + (at(digest, i) >> (8 - take));
    taken += take;
  }
  return value;
}

/**
 * A fast 48-bit fingerprint of a text (two FNV-1a hashes over its UTF-16 code units), as 12
 * hex digits. Not collision-resistant: it only tells payloads apart, where a crafted
 * collision gains nothing (a repeat is never charged, whatever its payload).
 */
export function fingerprint48(text: string): string {
  let a = 0x811c9dc5;
  let b = 0x2f3b8e61;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = imul(a ^ c, 0x01000193);
    b = imul(b ^ c, 0x01000193) ^ (b >>> 15);
  }
  return (a >>> 0).toString(16).padStart(8, '0') + ((b >>> 0) & 0xffff).toString(16).padStart(4, '0');
}
