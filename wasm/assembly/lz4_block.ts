// An LZ4 block encoder in AssemblyScript, compiled to WASM by wasm/build.ts
// (`deno task build:wasm`) into wasm/lz4_block.js.
//
// Written from the LZ4 block format description (lz4/lz4 doc/lz4_Block_format.md):
// sequences of a token (literal length high nibble, match length - 4 low
// nibble), length continuation bytes of 255, the literals, a 2-byte
// little-endian offset; the last 5 bytes are always literals and the last
// match starts at least 12 bytes before the end. The search is LZ4's "fast"
// one: a 4096-entry table of positions hashed from 5 bytes, and a step that
// grows by one every 64 misses so incompressible data is crossed quickly.
//
// Output is size-prefixed (u32 little-endian original length, then the
// block), the layout lz4-wasm's decoder reads. The caller (the JS side in
// plugins/compress-lz4/encoder.ts) places the input and output in this
// module's memory and sizes the output for `lz4BlockBound`.

const HASH_LOG: u32 = 12;
const TABLE: usize = memory.data(4 << HASH_LOG);
const MIN_MATCH: usize = 4;
const LAST_LITERALS: usize = 5;
const MF_LIMIT: usize = 12;
const MAX_DISTANCE: usize = 65535;
const SKIP_TRIGGER: u32 = 6;

/** Byte offset in the table of the slot for the 5 low bytes of `sequence` (Knuth-style multiplicative hash). */
// @ts-ignore: AssemblyScript decorator
function slot(sequence: u64): usize {
  return <usize> (((sequence << 24) * 889523592379) >> (64 - HASH_LOG)) << 2;
}

/** The first free byte after this module's static data: input and output go from here. */
export function heapBase(): usize {
  return __heap_base;
}

/** Writes the continuation bytes of a length of 15 or more (`length` is the part past 15). */
// @ts-ignore: AssemblyScript decorator
function writeLength(op: usize, length: usize): usize {
  while (length >= 255) {
    store<u8>(op++, 255);
    length -= 255;
  }
  store<u8>(op++, <u8> length);
  return op;
}

/** Copies literals; short runs in 8-byte words (may write up to 32 bytes, the output has that slack). */
// @ts-ignore: AssemblyScript decorator
function copyLiterals(op: usize, from: usize, length: usize): void {
  if (length <= 32) {
    store<u64>(op, load<u64>(from));
    store<u64>(op + 8, load<u64>(from + 8));
    if (length > 16) {
      store<u64>(op + 16, load<u64>(from + 16));
      store<u64>(op + 24, load<u64>(from + 24));
    }
  } else {
    memory.copy(op, from, length);
  }
}

/** Extends a match: the first position from `ip` (below `limit`) where it differs from `match`. */
// @ts-ignore: AssemblyScript decorator
function matchEnd(ip: usize, match: usize, limit: usize): usize {
  while (ip + 8 <= limit) {
    const diff = load<u64>(ip) ^ load<u64>(match);
    if (diff != 0) return ip + <usize> (ctz<u64>(diff) >> 3);
    ip += 8;
    match += 8;
  }
  if (ip + 4 <= limit && load<u32>(ip) == load<u32>(match)) {
    ip += 4;
    match += 4;
  }
  if (ip + 2 <= limit && load<u16>(ip) == load<u16>(match)) {
    ip += 2;
    match += 2;
  }
  if (ip < limit && load<u8>(ip) == load<u8>(match)) ip++;
  return ip;
}

/** Writes a token and the length bytes for `literals` literals; returns the next output position. */
// @ts-ignore: AssemblyScript decorator
function writeLiteralLength(token: usize, literals: usize): usize {
  if (literals >= 15) {
    store<u8>(token, 15 << 4);
    return writeLength(token + 1, literals - 15);
  }
  store<u8>(token, <u8> (literals << 4));
  return token + 1;
}

/**
 * Compresses `length` bytes at `src` into a size-prefixed LZ4 block at `dst`
 * and returns the bytes written. `dst` must have room for
 * `4 + length + length / 255 + 16` bytes plus 32 of slack, and the 32 bytes
 * after the input must be readable.
 */
export function compress(src: usize, length: usize, dst: usize): usize {
  store<u32>(dst, <u32> length);
  let op = dst + 4;
  const end = src + length;
  let anchor = src;
  if (length > MF_LIMIT) {
    memory.fill(TABLE, 0, 4 << HASH_LOG);
    const mflimit = end - MF_LIMIT;
    const matchlimit = end - LAST_LITERALS;
    let ip = src;
    store<u32>(TABLE + slot(load<u64>(ip)), 0);
    ip++;
    let forwardSlot = slot(load<u64>(ip));
    let done = false;
    while (!done) {
      // Look for a match, stepping further the longer none is found.
      let match: usize = 0;
      let forwardIp = ip;
      let step: u32 = 1;
      let searches: u32 = 1 << SKIP_TRIGGER;
      while (true) {
        const here = forwardSlot;
        ip = forwardIp;
        forwardIp += step;
        step = searches++ >> SKIP_TRIGGER;
        if (forwardIp > mflimit) {
          done = true;
          break;
        }
        match = src + <usize> load<u32>(TABLE + here);
        forwardSlot = slot(load<u64>(forwardIp));
        store<u32>(TABLE + here, <u32> (ip - src));
        if (match + MAX_DISTANCE >= ip && load<u32>(match) == load<u32>(ip)) break;
      }
      if (done) break;
      // Extend the match backwards over equal bytes still counted as literals.
      while (ip > anchor && match > src && load<u8>(ip - 1) == load<u8>(match - 1)) {
        ip--;
        match--;
      }
      const literals = ip - anchor;
      let token = op;
      op = writeLiteralLength(token, literals);
      copyLiterals(op, anchor, literals);
      op += literals;
      // Emit the match, then as long as the next position matches at once, more matches without literals.
      while (true) {
        store<u16>(op, <u16> (ip - match));
        op += 2;
        const stop = matchEnd(ip + MIN_MATCH, match + MIN_MATCH, matchlimit);
        const extra = stop - ip - MIN_MATCH;
        ip = stop;
        if (extra >= 15) {
          store<u8>(token, load<u8>(token) | 15);
          op = writeLength(op, extra - 15);
        } else {
          store<u8>(token, load<u8>(token) | <u8> extra);
        }
        anchor = ip;
        if (ip > mflimit) {
          done = true;
          break;
        }
        store<u32>(TABLE + slot(load<u64>(ip - 2)), <u32> (ip - 2 - src));
        const here = slot(load<u64>(ip));
        match = src + <usize> load<u32>(TABLE + here);
        store<u32>(TABLE + here, <u32> (ip - src));
        if (match + MAX_DISTANCE >= ip && load<u32>(match) == load<u32>(ip)) {
          token = op++;
          store<u8>(token, 0);
          continue;
        }
        ip++;
        forwardSlot = slot(load<u64>(ip));
        break;
      }
    }
  }
  const literals = end - anchor;
  op = writeLiteralLength(op, literals);
  memory.copy(op, anchor, literals);
  op += literals;
  return op - dst;
}
