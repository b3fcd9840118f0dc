// IO capture: what the program printed (and read), attached to the call
// during which it was written. See design-docs/io-capture.md.
//
// `proxies` (default): `process.stdout.write` and `process.stderr.write` are
// wrapped on the stream instances (console.* goes through them), and
// `process.stdin.push` (every chunk read from fd 0). A wrapper copies the
// bytes aside, then calls the original with the same `this` and arguments
// and returns its result: isTTY, columns, colours, ordering, backpressure
// and callbacks are the stream's own.
//
// `proxies+fd`: additionally, Rust points fds 1 and 2 into a mirror
// (crates/noderec_core/src/io/mirror.rs) that forwards every byte to the
// original destination and reports the bytes the proxies did not announce
// (fs.writeSync(1, ..), addons, inheriting children) as `mirror` chunks.
//
// Chunks are batched per stream and emitted (as OUTPUT events, in order with
// calls and returns) on a newline, an explicit flush, a 5 ms gap, or the
// next call/return boundary of the thread. The 5 ms gap is timed natively
// (crates/noderec_core/src/io/idle.rs) and reported through a threadsafe
// function, not by a `setTimeout`: a timer of ours falling due with one of
// the program's would make Node run the program's promise reactions between
// the two, with timer frames in their stacks (issue 8).
import * as fs from 'node:fs';
import { isMainThread } from 'node:worker_threads';

import { native, Native } from '../native';
import * as P from './primordials';
import * as probes from './probes';

// Module-level consts (a load through the module object would cost more in the write path).
const BufferAllocUnsafeSlow = P.BufferAllocUnsafeSlow;
const BufferFrom = P.BufferFrom;
const BufferIsEncoding = P.BufferIsEncoding;
const BufferPrototypeReadUInt32LE = P.BufferPrototypeReadUInt32LE;
const BufferPrototypeUtf8Write = P.BufferPrototypeUtf8Write;
const BufferPrototypeWrite = P.BufferPrototypeWrite;
const EventEmitterPrototypeOn = P.EventEmitterPrototypeOn;
const EventEmitterPrototypePrependListener = P.EventEmitterPrototypePrependListener;
const EventEmitterPrototypeRemoveListener = P.EventEmitterPrototypeRemoveListener;
const ObjectDefineProperty = P.ObjectDefineProperty;
const ObjectGetOwnPropertyDescriptor = P.ObjectGetOwnPropertyDescriptor;
const ObjectPrototypeHasOwnProperty = P.ObjectPrototypeHasOwnProperty;
const ReflectApply = P.ReflectApply;
const TypedArrayPrototypeCopyWithin = P.TypedArrayPrototypeCopyWithin;
const TypedArrayPrototypeGetBuffer = P.TypedArrayPrototypeGetBuffer;
const TypedArrayPrototypeGetLength = P.TypedArrayPrototypeGetLength;
const TypedArrayPrototypeIndexOf = P.TypedArrayPrototypeIndexOf;
const TypedArrayPrototypeLastIndexOf = P.TypedArrayPrototypeLastIndexOf;
const TypedArrayPrototypeSet = P.TypedArrayPrototypeSet;
const U8 = P.U8;
const isUint8Array = P.isUint8Array;
const ownApply = P.ownApply;

export type IoMode = 'off' | 'proxies' | 'proxies+fd';
export type IoStreamName = 'stdin' | 'stdout' | 'stderr';

/** The filter file's `[io]` table. */
export interface IoFilter {
  capture?: boolean;
  streams?: IoStreamName[];
}

/** Chunk flags (the OUTPUT payload is `stream | flags << 2`). */
export const NEWLINE = 1;
export const FLUSH = 2;
export const BOUNDARY = 4;
export const TIME_SPLIT = 8;
export const MIRROR = 16;
export const INPUT = 32;

const STDIN = 0;
const STDOUT = 1;
const STDERR = 2;
const STREAM_NAMES: readonly IoStreamName[] = ['stdin', 'stdout', 'stderr'];
/** A chunk without a newline is cut at this size. */
const MAX_CHUNK = 64 * 1024;
/** A gap without writes that ends a chunk, µs. */
const GAP_US = 5000;

function nio(): Native {
  return native();
}

// Everything below that runs while the program runs calls only built-ins
// captured at load (./primordials, decision 54): a program may replace
// Function.prototype.apply, the typed-array `length` getter, Buffer's
// methods, and its replacement would run (and print) inside a write.

interface Pending {
  buf: Buffer;
  /** `buf`'s length (kept: never read through the `length` getter). */
  cap: number;
  /** `buf`'s ArrayBuffer (`buf` starts at its offset 0: allocUnsafeSlow). */
  ab: ArrayBuffer;
  len: number;
  /** Clock (µs) of the last write. */
  last: number;
}

/** A buffer of its own (not from the pool: its byteOffset is 0). */
function setBuf(p: Pending, cap: number): void {
  const nb = BufferAllocUnsafeSlow(cap);
  if (p.len > 0) {
    // Grown (cap > p.len) or shrunk to less than 4096 bytes (p.len < 4096).
    const ob = p.buf;
    if (cap >= p.cap) TypedArrayPrototypeSet(nb, ob);
    else for (let i = 0; i < p.len; i++) nb[i] = ob[i];
  }
  p.buf = nb;
  p.cap = cap;
  p.ab = TypedArrayPrototypeGetBuffer(nb) as ArrayBuffer;
}

function newPending(): Pending {
  const p: Pending = { buf: null as unknown as Buffer, cap: 0, ab: null as unknown as ArrayBuffer, len: 0, last: 0 };
  setBuf(p, 4096);
  return p;
}

const pend: Pending[] = [newPending(), newPending(), newPending()];
/** Streams captured (index = stream number). */
const enabled = [false, false, false];
let installed = false;
/** installCapture was called (the filter may come before it). */
let started = false;
let mode: IoMode = 'off';
let envMode: IoMode = 'proxies';
let explicitMode = false;
let filter: IoFilter | null = null;
/** Set when chunks wait; the probes check it at every boundary. */
let flag: Int32Array = new Int32Array(1);
let mirror = false;
let nativeFlag: Int32Array | null = null;
/** This thread's native idle timer (`ioIdleRegister`), or null. */
let idleId: number | null = null;
/** The fallback when the native timer cannot be had. */
let timer: NodeJS.Timeout | null = null;
let armed = false;
/** The chunk a worker's stdio pipe is writing into the main thread's stream. */
let workerChunk: unknown = null;
let mirrorInfo: { stream: number; kind: string; mirrored: boolean }[] = [];
let lastError: string | null = null;

interface Undo {
  (): void;
}
const undo: Undo[] = [];

// ---- chunks ------------------------------------------------------------------

function emit(stream: number, flags: number, upto: number): void {
  // Written by code the value encoder ran (a getter it could not know of):
  // the arena holds a value being written, so the bytes wait for the next
  // boundary (decisions.md 42).
  if (probes.encodingNow()) {
    flag[0] = 1;
    return;
  }
  const p = pend[stream];
  if (p.buf[upto - 1] === 10) flags |= NEWLINE;
  probes.output(stream, flags, p.buf, 0, upto);
  if (upto < p.len) TypedArrayPrototypeCopyWithin(p.buf, 0, upto, p.len);
  p.len -= upto;
  if (p.cap > 1 << 20 && p.len < 4096) setBuf(p, 4096);
}

function ensure(p: Pending, need: number): void {
  if (need <= p.cap) return;
  let cap = p.cap * 2;
  while (cap < need) cap *= 2;
  setBuf(p, cap);
}

/** Copies a write into the stream's pending chunk; returns the number of bytes, or -1. */
function append(p: Pending, chunk: unknown, encoding: unknown, s: unknown): number {
  const start = p.len;
  if (typeof chunk === 'string') {
    let enc: string;
    if (typeof encoding === 'string') {
      enc = encoding;
      if (enc !== 'utf8' && enc !== 'utf-8' && !BufferIsEncoding(enc)) return -1;
    } else {
      const ws = (s as { _writableState?: { defaultEncoding?: string } })._writableState;
      enc = ws !== undefined && typeof ws.defaultEncoding === 'string' ? ws.defaultEncoding : 'utf8';
      if (enc === 'buffer') enc = 'utf8';
    }
    if (chunk.length > MAX_CHUNK) {
      const b = BufferFrom(chunk, enc as BufferEncoding);
      const n = TypedArrayPrototypeGetLength(b);
      ensure(p, start + n);
      TypedArrayPrototypeSet(p.buf, b, start);
      return n;
    }
    ensure(p, start + chunk.length * 3);
    // utf8Write with all its arguments: Buffer#write reads `this.length`.
    if (enc === 'utf8' || enc === 'utf-8') return BufferPrototypeUtf8Write(p.buf, chunk, start, p.cap - start);
    return BufferPrototypeWrite(p.buf, chunk, start, p.cap - start, enc as BufferEncoding);
  }
  if (isUint8Array(chunk)) {
    const n = TypedArrayPrototypeGetLength(chunk);
    ensure(p, start + n);
    if (n < 64) {
      const b = p.buf;
      for (let i = 0; i < n; i++) b[start + i] = chunk[i];
    } else {
      TypedArrayPrototypeSet(p.buf, chunk, start);
    }
    return n;
  }
  return -1;
}

/** A write of `stream` is about to happen. */
function onWrite(stream: number, chunk: unknown, encoding: unknown, s: unknown): void {
  if (chunk === workerChunk && chunk !== null) {
    // Written (and captured) by a worker; the main thread only forwards it.
    workerChunk = null;
    if (mirror) announce(stream, chunk, encoding);
    return;
  }
  if ((s as { destroyed?: boolean }).destroyed === true) return;
  const p = pend[stream];
  const t = probes.now();
  if (p.len > 0 && t - p.last >= GAP_US) emit(stream, TIME_SPLIT, p.len);
  // The other stream's partial chunk was written first: it keeps its place.
  const other = 3 - stream;
  if (pend[other].len > 0) emit(other, BOUNDARY, pend[other].len);
  const start = p.len;
  const n = append(p, chunk, encoding, s);
  if (n <= 0) return;
  const end = start + n;
  p.len = end;
  p.last = t;
  if (mirror) nio().ioExpect(stream, new U8(p.ab, start, n));
  // The last newline of this write ends a chunk (earlier bytes had none).
  const b = p.buf;
  let nl = -1;
  if (n < 256) {
    for (let i = end - 1; i >= start; i--) {
      if (b[i] === 10) {
        nl = i;
        break;
      }
    }
  } else {
    nl = TypedArrayPrototypeLastIndexOf(b, 10, end - 1);
  }
  if (nl >= 0) emit(stream, 0, nl + 1);
  if (p.len >= MAX_CHUNK) emit(stream, FLUSH, p.len);
  if (p.len > 0) {
    flag[0] = 1;
    arm();
  }
}

function announce(stream: number, chunk: unknown, encoding: unknown): void {
  let b: Uint8Array | null = null;
  if (isUint8Array(chunk)) b = chunk;
  else if (typeof chunk === 'string')
    b = BufferFrom(chunk, typeof encoding === 'string' && BufferIsEncoding(encoding) ? encoding : 'utf8');
  if (b !== null && TypedArrayPrototypeGetLength(b) > 0) nio().ioExpect(stream, b);
}

function arm(): void {
  if (armed) return;
  armed = true;
  if (idleId !== null) {
    try {
      nio().ioIdleArm(idleId, GAP_US);
      return;
    } catch (e) {
      lastError = e instanceof Error ? e.message : String(e);
      idleId = null;
    }
  }
  if (timer === null) {
    timer = setTimeout(onTimer, 5);
    timer.unref();
  } else {
    timer.refresh();
  }
}

function onTimer(): void {
  if (!installed) return;
  armed = false;
  const t = probes.now();
  for (let s = STDOUT; s <= STDERR; s++) {
    const p = pend[s];
    if (p.len === 0) continue;
    // A stamp can lag by about a clock tick (1 ms; README *Timing*): allow for it.
    if (t - p.last >= GAP_US - 1000) emit(s, TIME_SPLIT, p.len);
    else arm();
  }
  if (mirror) drainMirror();
}

/** The probes' boundary hook: emit what waits before the next event. */
function boundary(): void {
  // Nothing is written while a value is encoded (a getter the encoder ran
  // wrote or read): the probes' next boundary after it emits it.
  if (probes.encodingNow()) {
    flag[0] = 1;
    return;
  }
  flag[0] = 0;
  if (pend[STDOUT].len > 0) emit(STDOUT, BOUNDARY, pend[STDOUT].len);
  if (pend[STDERR].len > 0) emit(STDERR, BOUNDARY, pend[STDERR].len);
  if (mirror) drainMirror();
  // Input that came while a value was encoded, after the output that was
  // pending then (as onInput orders it).
  if (inputWaiting.length > 0) {
    const ws = inputWaiting;
    inputWaiting = [];
    for (let i = 0; i < ws.length; i++) {
      const w = ws[i];
      const n = TypedArrayPrototypeGetLength(w);
      probes.output(STDIN, INPUT | (w[n - 1] === 10 ? NEWLINE : 0), w, 0, n);
    }
  }
}

function emitEncoded(b: Buffer | null | undefined): void {
  // `ioMirrorStop().chunks` is absent (undefined), `ioDrain()` null, when there is nothing.
  if (b === null || b === undefined) return;
  let off = 0;
  const blen = TypedArrayPrototypeGetLength(b);
  while (off + 5 <= blen) {
    const stream = b[off];
    const n = BufferPrototypeReadUInt32LE(b, off + 1);
    const s = off + 5;
    const e = s + n;
    if (e > blen) break;
    // One chunk per line, as for the proxies.
    let from = s;
    while (from < e) {
      const nl = TypedArrayPrototypeIndexOf(b, 10, from);
      const to = nl < 0 || nl >= e ? e : nl + 1;
      probes.output(stream, MIRROR | (b[to - 1] === 10 ? NEWLINE : 0), b, from, to);
      from = to;
    }
    off = e;
  }
}

function drainMirror(): void {
  emitEncoded(nio().ioDrain());
}

/** Input read from fd 0 by `process.stdin`. */
/** Input pushed while a value was encoded (decisions.md 42, *Review*): it
 * waits for the next boundary, which an event inside the value would break. */
let inputWaiting: Uint8Array[] = [];
function onInput(chunk: unknown, encoding: unknown): void {
  let b: Uint8Array;
  if (isUint8Array(chunk)) b = chunk;
  else if (typeof chunk === 'string')
    b = BufferFrom(chunk, typeof encoding === 'string' && BufferIsEncoding(encoding) ? encoding : 'utf8');
  else return;
  const n = TypedArrayPrototypeGetLength(b);
  if (n === 0) return;
  if (probes.encodingNow()) {
    // A copy (`slice` would look up the species constructor).
    const c = new U8(n);
    TypedArrayPrototypeSet(c, b);
    inputWaiting[inputWaiting.length] = c;
    flag[0] = 1;
    return;
  }
  // Output that came before keeps its place.
  if (flag[0] !== 0) boundary();
  probes.output(STDIN, INPUT | (b[n - 1] === 10 ? NEWLINE : 0), b, 0, n);
}

// ---- installation ---------------------------------------------------------

type AnyFn = (this: unknown, ...args: unknown[]) => unknown;

/** Replaces `obj[key]` (a method) by `make(original)`; undone at uninstall. */
function wrapMethod(obj: Record<string, unknown>, key: string, make: (orig: AnyFn) => AnyFn): void {
  const own = ObjectPrototypeHasOwnProperty(obj, key);
  const orig = obj[key];
  if (typeof orig !== 'function') return;
  const w = make(orig as AnyFn);
  // Same name and arity as the original (Writable.prototype.write is anonymous).
  ObjectDefineProperty(w, 'name', { value: orig.name, configurable: true });
  ObjectDefineProperty(w, 'length', { value: orig.length, configurable: true });
  obj[key] = w;
  undo[undo.length] = () => {
    if (obj[key] !== w) return; // wrapped again by the program: stays, passes through
    if (own) obj[key] = orig;
    else delete obj[key];
  };
}

function installWrite(s: NodeJS.WriteStream, stream: number): void {
  wrapMethod(s as unknown as Record<string, unknown>, 'write', (orig) =>
    // Named `write`, three parameters: like Writable.prototype.write.
    function write(this: unknown, chunk: unknown, encoding?: unknown, cb?: unknown): unknown {
      if (enabled[stream]) onWrite(stream, chunk, encoding, s);
      void cb;
      // eslint-disable-next-line prefer-rest-params
      return ReflectApply(orig, this, arguments);
    },
  );
  if (isMainThread) {
    // A worker's stdout/stderr is piped into ours; the worker captured it.
    // (Listeners with their own `apply`: Node's emit calls `listener.apply`.)
    const onPipe = ownApply((src: unknown): void => {
      const r = src as NodeJS.ReadableStream & { constructor?: { name?: string } };
      if (r?.constructor?.name !== 'ReadableWorkerStdio') return;
      EventEmitterPrototypePrependListener(r, 'data', markWorkerChunk);
    });
    EventEmitterPrototypeOn(s, 'pipe', onPipe);
    undo[undo.length] = () => EventEmitterPrototypeRemoveListener(s, 'pipe', onPipe);
  }
}

const markWorkerChunk = ownApply(function markWorkerChunk(chunk: unknown): void {
  if (installed) workerChunk = chunk;
});

function installStdin(s: NodeJS.ReadStream): void {
  wrapMethod(s as unknown as Record<string, unknown>, 'push', (orig) =>
    function push(this: unknown, chunk: unknown, encoding?: unknown): unknown {
      if (enabled[STDIN] && chunk !== null && chunk !== undefined) onInput(chunk, encoding);
      // eslint-disable-next-line prefer-rest-params
      return ReflectApply(orig, this, arguments);
    },
  );
}

/** Runs `fn` on `process[name]` when it is first used (the standard streams
 * are created lazily by Node; creating one early changes fd flags). */
function onStream(name: IoStreamName, fn: (s: never) => void): void {
  const proc = process as unknown as Record<string, unknown>;
  const d = ObjectGetOwnPropertyDescriptor(process, name);
  if (d === undefined) return;
  if (typeof d.get !== 'function' || d.configurable !== true) {
    fn(proc[name] as never);
    return;
  }
  const get = d.get;
  let done = false;
  ObjectDefineProperty(process, name, {
    configurable: true,
    enumerable: d.enumerable,
    set: d.set,
    get(this: unknown) {
      const s = ReflectApply(get, this, []) as never;
      if (!done) {
        done = true;
        ObjectDefineProperty(process, name, d);
        if (installed) fn(s);
      }
      return s;
    },
  });
  undo[undo.length] = () => {
    if (!done) ObjectDefineProperty(process, name, d);
  };
}

function handleFd(s: unknown, fallback: number): number {
  const o = s as { _handle?: { fd?: unknown }; fd?: unknown };
  const h = o._handle?.fd;
  if (typeof h === 'number' && h >= 0) return h;
  if (typeof o.fd === 'number' && o.fd >= 0) return o.fd;
  return fallback;
}

function startMirror(): void {
  // The streams must exist before fds 1 and 2 move, so that Node sees the
  // real terminal, pipe or file (isTTY, columns, sync/async writes).
  const out = process.stdout;
  const err = process.stderr;
  const n = nio();
  const streams: number[] = [];
  if (enabled[STDOUT]) streams.push(STDOUT);
  if (enabled[STDERR]) streams.push(STDERR);
  if (streams.length === 0) return;
  if (nativeFlag === null) nativeFlag = new Int32Array(n.ioFlagBuffer());
  mirrorInfo = n.ioMirrorStart(streams, [handleFd(out, 1)], [handleFd(err, 2)]);
  flag = nativeFlag;
  mirror = true;
  probes.setIoHook(flag, boundary);
}

function apply(): void {
  const want: IoMode = explicitMode ? envMode : filter?.capture === false ? 'off' : filter?.capture === true && envMode === 'off' ? 'proxies' : envMode;
  const streams = filter?.streams ?? STREAM_NAMES;
  if (installed && want !== mode) uninstall();
  for (let i = 0; i < 3; i++) enabled[i] = want !== 'off' && streams.includes(STREAM_NAMES[i]);
  if (installed || want === 'off') return;
  installed = true;
  mode = want;
  try {
    // Created here, before the program runs: its hooks never see it made.
    idleId = nio().ioIdleRegister(onTimer);
  } catch (e) {
    lastError = e instanceof Error ? e.message : String(e);
    idleId = null;
  }
  flag = new Int32Array(1);
  probes.setIoHook(flag, boundary);
  onStream('stdout', (s: NodeJS.WriteStream) => installWrite(s, STDOUT));
  onStream('stderr', (s: NodeJS.WriteStream) => installWrite(s, STDERR));
  onStream('stdin', (s: NodeJS.ReadStream) => installStdin(s));
  if (want === 'proxies+fd' && isMainThread) {
    try {
      startMirror();
    } catch (e) {
      // Keep the proxies; say why in ioStatus().
      lastError = e instanceof Error ? e.message : String(e);
      mirror = false;
      flag = new Int32Array(1);
      probes.setIoHook(flag, boundary);
    }
  }
}

/**
 * Installs capture for this thread. `mode` comes from NODEREC_CAPTURE_IO or
 * the API/CLI; `explicit` says it was set there (then it beats the filter's
 * `[io]`). `off` (after the filter is applied) installs nothing at all. The
 * fd mirror runs in the main thread only.
 */
export function installCapture(m: IoMode, explicit = false): void {
  envMode = m;
  explicitMode = explicit;
  started = true;
  apply();
}

/** The filter's `[io]` table (issue 3): `capture = false` turns capture off
 * unless NODEREC_CAPTURE_IO / the CLI set a mode; `streams` limits what is
 * captured. Can be called before or after `installCapture`. */
export function configureIo(f: IoFilter): void {
  filter = { ...f };
  if (started) apply();
}

/** Emits every pending chunk now (flag `flush`). */
export function flushIo(): void {
  if (!installed) return;
  flag[0] = 0;
  if (pend[STDOUT].len > 0) emit(STDOUT, FLUSH, pend[STDOUT].len);
  if (pend[STDERR].len > 0) emit(STDERR, FLUSH, pend[STDERR].len);
  if (mirror) drainMirror();
}

/** Periodic work (the tracer's flush timer): mirror-only bytes of an idle program. */
export function ioTick(): void {
  if (mirror && flag[0] !== 0) drainMirror();
}

function uninstall(): void {
  if (!installed) return;
  flushIo();
  if (mirror) {
    mirror = false;
    try {
      const r = nio().ioMirrorStop();
      if (r !== null) emitEncoded(r.chunks);
    } catch (e) {
      lastError = e instanceof Error ? e.message : String(e);
    }
  }
  // Last installed, first undone (an index loop: Array.prototype.pop is the program's).
  const u = undo;
  for (let i = u.length - 1; i >= 0; i--) u[i]();
  u.length = 0;
  probes.setIoHook(null, null);
  if (idleId !== null) {
    nio().ioIdleUnregister(idleId);
    idleId = null;
  }
  if (timer !== null) {
    clearTimeout(timer);
    timer = null;
  }
  armed = false;
  workerChunk = null;
  installed = false;
  mode = 'off';
  for (let i = 0; i < 3; i++) {
    enabled[i] = false;
    pend[i].len = 0;
  }
}

/** Emits what waits and removes every wrapper (finalization, before the
 * last calls are unwound). Restores fds 1 and 2 in fd mode. */
export function stopCapture(): void {
  started = false;
  uninstall();
}

/** Writes a line of the recorder's own (logs): never captured, in either
 * mode. `fd` is 1 or 2, or any other fd (a log file). */
export function recorderWrite(fd: number, data: string | Uint8Array): void {
  if (typeof data === 'string') fs.writeSync(recorderFd(fd), data);
  else fs.writeSync(recorderFd(fd), data);
}

/** The fd the recorder should write its own output to instead of `fd`
 * (while the mirror runs, a duplicate of the original 1 or 2). */
export function recorderFd(fd: number): number {
  if (mirror && (fd === 1 || fd === 2)) {
    const o = nio().ioOriginalFd(fd);
    if (o >= 0) return o;
  }
  return fd;
}

/** What capture is doing (for logs and tests). */
export function ioStatus(): { mode: IoMode; streams: IoStreamName[]; mirror: typeof mirrorInfo; error: string | null } {
  return {
    mode,
    streams: STREAM_NAMES.filter((_, i) => enabled[i]),
    mirror: mirror ? mirrorInfo : [],
    error: lastError,
  };
}
