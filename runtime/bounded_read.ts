/**
 * Reading a manifest or module file with bounds: only a regular file (a
 * symlink is followed, and what it points to must be a regular file too), at
 * most `maxBytes`, and stopped when `signal` aborts. The file is opened
 * without blocking (`O_NONBLOCK`) and checked on the open descriptor, so a
 * FIFO never blocks the open and a file swapped after a check is still
 * caught; reading stops one byte past the bound, so a file that grows (or a
 * device) cannot fill memory.
 *
 * @module
 */
import { constants } from "node:fs";
import { open } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { SwitchyardError } from "../core/util/errors.ts";

const CHUNK_BYTES = 64 * 1024;

/** Bounds of {@linkcode readRegularFile}. */
export interface BoundedReadOptions {
  /** Refuse files larger than this. */
  maxBytes: number;
  /** Abandons the read (the loader aborts it on its import timeout). */
  signal?: AbortSignal;
}

function kindOf(
  stats: {
    isFIFO(): boolean;
    isCharacterDevice(): boolean;
    isBlockDevice(): boolean;
    isDirectory(): boolean;
    isSocket(): boolean;
  },
): string {
  if (stats.isFIFO()) return "a FIFO";
  if (stats.isCharacterDevice() || stats.isBlockDevice()) return "a device";
  if (stats.isDirectory()) return "a directory";
  if (stats.isSocket()) return "a socket";
  return "not a regular file";
}

/**
 * The bytes of the regular file at `url`. Throws `PLUGIN_INVALID` naming the
 * path for a FIFO, device, directory or socket (also behind a symlink), or a
 * file over `maxBytes`; rethrows the signal's reason when it aborts.
 */
export async function readRegularFile(url: URL, options: BoundedReadOptions): Promise<Uint8Array> {
  const path = url.protocol === "file:" ? fileURLToPath(url) : url.href;
  const refuse = (why: string) => new SwitchyardError("PLUGIN_INVALID", `${path}: ${why}`);
  options.signal?.throwIfAborted();
  const file = await open(url, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  try {
    const stats = await file.stat();
    if (!stats.isFile()) throw refuse(`${kindOf(stats)}, not a regular file; only regular files are read`);
    if (stats.size > options.maxBytes) {
      throw refuse(`${stats.size} bytes, more than the ${options.maxBytes}-byte limit (maxModuleBytes)`);
    }
    const chunks: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      options.signal?.throwIfAborted();
      const chunk = new Uint8Array(Math.min(CHUNK_BYTES, options.maxBytes + 1 - total));
      const { bytesRead } = await file.read(chunk, 0, chunk.byteLength, total);
      if (bytesRead === 0) break;
      chunks.push(chunk.subarray(0, bytesRead));
      total += bytesRead;
      if (total > options.maxBytes) {
        throw refuse(`grew past the ${options.maxBytes}-byte limit (maxModuleBytes) while it was read`);
      }
    }
    const bytes = new Uint8Array(total);
    let at = 0;
    for (const chunk of chunks) (bytes.set(chunk, at), at += chunk.byteLength);
    return bytes;
  } finally {
    await file.close();
  }
}
