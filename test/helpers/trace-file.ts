// Writes trace files by hand (design-docs/trace-format.md), for tests of
// the reader on damaged, cut and unusual traces. Chunks hold zstd frames
// made of raw (stored) blocks, so no compressor is needed.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';

export function varint(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 128) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

export function str(s: string): number[] {
  const b = Buffer.from(s, 'utf8');
  return [...varint(b.length), ...b];
}

export const record = {
  path: (id: number, p: string): number[] => [1, ...varint(id), ...str(p)],
  func: (id: number, pathId: number, name: string, line = 1, params: string[] = []): number[] => [
    2,
    ...varint(id),
    ...varint(pathId),
    ...str(name),
    ...str('function'),
    ...varint(line),
    ...varint(0),
    0,
    ...varint(params.length),
    ...params.flatMap(str),
  ],
  thread: (id: number, name: string): number[] => [3, ...varint(id), ...str(name)],
  /** `events`: [kind, payload, values?] with values as raw value bytes. */
  events: (thread: number, baseUs: number, events: [number, number, number[]?][]): number[] => {
    const out = [4, ...varint(thread), ...varint(events.length), ...varint(baseUs)];
    for (const [kind, payload, values] of events) {
      out.push(...varint(kind | (values !== undefined ? 16 : 0) | (payload << 5)), ...varint(1));
      if (values !== undefined) out.push(...varint(values.length), ...values);
    }
    return out;
  },
  end: (total: number): number[] => [5, ...varint(total)],
};

/** A zstd frame holding `data` in raw blocks. */
export function zstdRaw(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  // Magic, then a frame header: single segment, 4-byte content size.
  const fh = Buffer.alloc(9);
  fh.writeUInt32LE(0xfd2fb528, 0);
  fh[4] = 0x80 | 0x20;
  fh.writeUInt32LE(data.length, 5);
  parts.push(fh);
  const MAX = 128 * 1024 - 1;
  let off = 0;
  do {
    const n = Math.min(MAX, data.length - off);
    const last = off + n >= data.length ? 1 : 0;
    const h = (n << 3) | last;
    parts.push(Buffer.from([h & 0xff, (h >> 8) & 0xff, (h >> 16) & 0xff]), data.subarray(off, off + n));
    off += n;
  } while (off < data.length);
  return Buffer.concat(parts);
}

/** One chunk: header (compressed length, crc32, uncompressed length) and body. */
export function chunk(payload: number[] | Buffer): Buffer {
  const p = Buffer.from(payload);
  const body = zstdRaw(p);
  const h = Buffer.alloc(12);
  h.writeUInt32LE(body.length, 0);
  h.writeUInt32LE(zlib.crc32(body) >>> 0, 4);
  h.writeUInt32LE(p.length, 8);
  return Buffer.concat([h, body]);
}

export const HEADER = Buffer.concat([Buffer.from('NRTRACE\0', 'latin1'), Buffer.from([1, 0, 0, 0, 0, 0, 0, 0])]);

/** A trace file: the header and the chunks, as bytes. */
export function traceBytes(chunks: Buffer[]): Buffer {
  return Buffer.concat([HEADER, ...chunks]);
}

/** A small valid chunk: one function `f` called twice with an int argument. */
export function sampleChunk(): Buffer {
  return chunk([
    ...record.path(0, 'app.js'),
    ...record.func(1, 0, 'f', 3, ['n']),
    ...record.thread(0, 'main'),
    ...record.events(0, 10, [
      [1, 1, [2, 4, 2]],
      [2, 0, [4, 4]],
      [1, 1, [2, 4, 6]],
      [2, 0, [4, 8]],
    ]),
  ]);
}

/** Writes a trace directory (trace.nrt and metadata.json) under `parent`. */
export function writeTraceDir(parent: string, name: string, trace: Buffer, meta: Record<string, unknown> = {}): string {
  const dir = path.join(parent, name);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'trace.nrt'), trace);
  fs.writeFileSync(
    path.join(dir, 'metadata.json'),
    JSON.stringify({ format: 1, program: 'app.js', pid: 1, ppid: 0, start_time: '2026-01-01T00:00:00.000Z', start_ms: 1, status: 'complete', events: 4, trace_bytes: trace.length, ...meta }),
  );
  return dir;
}
