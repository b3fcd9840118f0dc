// The probes that instrumented code calls (see design-docs/probes.md).
//
// Hot path rules: no allocation for an event without values, no closures,
// module-local state only, one native call per full buffer. Each event is
// three int32 words in `words`: head = kind | hasValues<<4 | payload<<5, the
// time in µs published by the native clock thread into `clock[0]`, and (for
// events with values) the arena position where the event's value bytes end.
//
// The activation stack. Each entry is an activation: its token (the n-th
// call event of the thread has token n) and its function id. `runtime.d` is
// the height the program's own frames agree on: a call probe pushes at `d`
// and returns `d`, a return probe pops, and the `finally` of a synchronous
// function restores `__nr$.d=$nr$a` without calling anything (so its frame
// stays as small as V8 can make it). `hi` is the height the recorded events
// agree on: entries in [d, hi) were left by an exception, and the next probe
// records a throw for each. Async functions and generators leave the stack
// at every await/yield, so their probes carry the token (negated) and their
// `finally` calls f().
import { arena, reserveArena, resetArena, rewindArena, thisFast, writeValue, writeValueShallow, writeVarint } from './value-encoder';
import { attrFor, attrNone, attrOn, builtins, DROPPED, filterCounts, redactedMarker, registerAttr } from './value-encoder';
import { scrubString } from './secrets';

// Built-ins as they were at start (decisions.md 49, 50): a program may
// replace %TypedArray%.prototype's `length` getter or methods (a replaced
// getter ran at every fast probe and recursed through the probes),
// String.prototype.charCodeAt (read by the short-string fast paths), Map's
// methods, or the global constructors.
const { len: TALen, set: TASet, view: TAView, U8: U8A, charCodeAt: CharCodeAt } = builtins;
const { Map: MapCtor, mapGet: MapGet, mapSet: MapSet, mapDelete: MapDelete, mapClear: MapClear, mapSize: MapSize } = builtins;
const I32A = Int32Array;
const F64A = Float64Array;


const CALL = 1;
const RETURN = 2;
const THROW = 3;
const AWAIT = 4;
const RESUME = 5;
const YIELD = 6;
const CATCH = 7;
/** Bytes written or read: payload `stream | flags << 2`, blob `varint len, bytes`. */
const OUTPUT = 8;
/** A run, span or log mark (design-docs/runs.md): payload the mark type,
 * blob `varint id`, then the type's fields. */
const MARK = 9;
const HAS = 16;
/** The constants of the fast paths, inlined by TypeScript as literals: a
 * module `const` read from a function is a context load with a
 * temporal-dead-zone check (a compare and a branch), as a `let` is. */
const enum F {
  CALL = 1,
  RETURN = 2,
  HAS = 16,
  RETURN_UNDEFINED = (1 << 5) | 2,
  EVENTS_PER_BUFFER = 16384,
  /** Words per event: head, time (µs), arena end (for events with values). */
  W = 3,
  /** Room for one more event without a flush. */
  LAST_FAST = EVENTS_PER_BUFFER * W - W,
}
/** A return of `undefined` with values captured: payload 1, no value bytes. */
const RETURN_UNDEFINED = (1 << 5) | 2;
/** CATCH payload meaning "reached the process as an uncaught exception". */
const UNCAUGHT = 1;

const EVENTS_PER_BUFFER = F.EVENTS_PER_BUFFER;
const W = F.W;
const WORDS = EVENTS_PER_BUFFER * W;
/** Headroom kept free in the arena after every event, so that the fast
 * paths below can write primitives without a capacity check. */
const ARENA_HEADROOM = 64 * 1024;
const ARENA_FLUSH = 1 << 20;

// The state the fast paths read is declared with `var`: V8 checks a `let`
// read from an inner function for its temporal dead zone (a compare and a
// branch per read), which cost about 5 ns per call+return (issue 9, third round).
var words = new Int32Array(WORDS);
var wp = 0;
// Holds the mark until attach() gives this thread a slot: a thread
// without one (all SLOTS taken) reads the time at every event instead of
// stamping 0 between its exact reads.
var clock = new Int32Array([-1]);
var seq = 0;
var stk = new Float64Array(4096);
var fid = new Int32Array(4096);
var stkCap = 4096;
/** Height of the recorded stack (see above). */
var hi = 0;
var capture = true;
let maxEvents = Infinity;
let eventCount = 0;
/** Suspended activations (await, yield): token -> function id. */
let suspended = new Map<number, number>();
// IO capture (js/runtime/io-capture.ts): nonzero when output chunks wait to
// be emitted; checked once at every boundary before anything is written.
var ioFlag: Int32Array = new Int32Array(1);
var ioBoundary: () => void = noop;
function noop(): void {}
var strMax = 256;
var A = arena;
var arenaLimit = ARENA_FLUSH;
/** Where the last event's value bytes end: the next event's values start
 * here, even when an exception (a stack overflow) cut a value short. */
var lastEnd = 0;
/** An event's values are being written (valuesStart() to the event's record).
 * Still true at the next valuesStart(): an exception cut them short. */
var valuesOpen = false;

/** Starts an event's values at `lastEnd`. Bytes left past it by values cut
 * short are discarded with rewindArena, so that no value reference can point
 * at them once they are overwritten (value-encoder.ts). */
function valuesStart(): void {
  if (valuesOpen) rewindArena(lastEnd);
  else A.pos = lastEnd;
  valuesOpen = true;
}

// Events not recorded, by reason (counted per buffer, or per event only
// while an activation window is set): max_events, recorder_error, stopped,
// inactive; and reentrant (per event: `encoding` below), added at detach.
const dropped: Record<string, number> = { max_events: 0, recorder_error: 0, stopped: 0, inactive: 0, reentrant: 0 };
let dropReason = 'stopped';

// Activation window (NODEREC_ACTIVATION_PATH): while `gated`, every event
// goes through gate(). WAITING drops everything until a CALL with an id in
// [actLo, actHi) (the activation file's functions, announced by `act` when
// the file loads); OPEN records everything except the exits, suspensions
// and resumptions of activations begun before the window (their calls were
// not recorded); DONE (the activation returned or threw) drops everything.
const WAITING = 0;
const OPEN = 1;
const DONE = 2;
var gated = false;
/** Every probe takes the general path: the activation window or the precise
 * clock is on (the fast paths handle neither), or a value is being encoded
 * (`encoding`). */
var detour = false;
/** A value is being encoded (encode()). The encoder may run code of the
 * program it could not know of (a getter a realm whose definers are not
 * wrapped defined, a native addon's accessor: design-docs/values.md,
 * "Trusted objects"); a probe entered meanwhile would write its event into
 * the middle of the value. Set with `detour`, so the fast paths test
 * nothing more; the general paths record nothing then and count the events
 * in `reentrant` (metadata `events_dropped_reentrant`, decisions.md 42). */
var encoding = false;
let reentrant = 0;
let gateState = WAITING;
let actLo = 0;
let actHi = 0;
let actTok = 0;
/** Arena position where the current event's values begin while gated. */
let gateMark = 0;

export interface Sink {
  submit(words: Int32Array, count: number, arena: Uint8Array, arenaLen: number): void;
  limitReached(): void;
  /** Values redacted and dropped by filters ([arg, ret, this, attr] each), reported at detach. */
  filterStats?(redacted: number[], dropped: number[]): void;
  /** Events not recorded because a probe was entered while a value was encoded, reported at detach. */
  reentrantDropped?(events: number): void;
}
let sink: Sink | null = null;

/** Connects the probes to a sink (the tracer) and the native clock. */
export function attach(s: Sink, clockBuffer: ArrayBuffer | null, captureValues: boolean, limit: number, stringBound = 256): void {
  sink = s;
  if (clockBuffer !== null) clock = new I32A(clockBuffer);
  // A boolean: the fast paths compare it with `=== true`.
  capture = Boolean(captureValues);
  maxEvents = limit > 0 ? limit : Infinity;
  eventCount = 0;
  dropReason = 'stopped';
  strMax = stringBound;
  reserveArena(ARENA_FLUSH + 2 * ARENA_HEADROOM);
  arenaLimit = flushLimit();
}

/** Where a flush is due in the arena: ARENA_FLUSH, or less in a smaller
 *  arena. (No Math.min: a program may replace it, and it would then run
 *  inside the probes.) */
function flushLimit(): number {
  const room = TALen(A.buf) - ARENA_HEADROOM;
  return room < ARENA_FLUSH ? room : ARENA_FLUSH;
}

/** This thread's probes record into a sink (main thread or worker). */
export function attached(): boolean {
  return sink !== null;
}

/** Disconnects: the probes keep working but record nothing. */
export function detach(): void {
  // Code an encoding ran ended the session (process.exit(), the API's
  // stop()): the buffered events cannot be handed over while their arena
  // is being written (a hand-over may swap the buffers under the encoder);
  // they are counted as dropped with the re-entrant ones.
  if (encoding === true && wp > 0) {
    reentrant += (wp / W) | 0;
    wp = 0;
  }
  flushEvents();
  reportCounts(sink);
  sink = null;
}

/** Hands the filter statistics and the re-entrant count to `s` (at detach,
 * and when the event limit drops the sink: the statistics of what was
 * recorded up to it), and starts them again. */
function reportCounts(s: Sink | null): void {
  if (s !== null && s.filterStats !== undefined) {
    const c = filterCounts;
    s.filterStats([c[0], c[1], c[2], c[3]], [c[4], c[5], c[6], c[7]]);
  }
  for (let i = 0; i < 8; i++) filterCounts[i] = 0;
  if (reentrant > 0 && s !== null && s.reentrantDropped !== undefined) s.reentrantDropped(reentrant);
  dropped.reentrant += reentrant;
  reentrant = 0;
}

/** Detaches after a recorder failure: what is buffered is dropped, values
 * are no longer encoded, and later events are only counted as dropped. */
export function disable(reason = 'recorder_error'): void {
  sink = null;
  capture = false;
  dropReason = reason;
  dropBuffered();
}

function dropBuffered(): void {
  dropped[dropReason] += (wp / W) | 0;
  rebaseClock();
  wp = 0;
  resetArena();
  gateMark = 0;
  lastEnd = 0;
  valuesOpen = false;
}

/** Events not recorded, by reason. */
export function droppedEvents(): Record<string, number> {
  const pending = sink === null ? (wp / W) | 0 : 0;
  return { ...dropped, [dropReason]: dropped[dropReason] + pending, reentrant: dropped.reentrant + reentrant };
}

/** Sets up (or, with false, removes) the activation window. */
export function setActivation(on: boolean): void {
  gated = on;
  detour = gated || precise || encoding;
  gateState = WAITING;
  actLo = 0;
  actHi = 0;
  actTok = 0;
  gateMark = A.pos;
}

/** Announced by the activation file when it loads: its call ids [lo, hi). */
export function act(lo: number, hi: number): void {
  if (gated && gateState === WAITING) {
    actLo = lo;
    actHi = hi;
  }
}

/** The activation window's state: waiting, open or done (tests, logs). */
export function activationState(): string {
  return !gated ? 'off' : gateState === WAITING ? 'waiting' : gateState === OPEN ? 'open' : 'done';
}

/** Decides whether the event `head` of activation `tok` (its values, if
 * any, already in the arena) is dropped. */
function gate(head: number, tok: number): boolean {
  const k = head & 15;
  if (gateState === OPEN) {
    if (k === CALL || k === OUTPUT) {
      gateMark = A.pos;
      return false;
    }
    if (tok < actTok) {
      rewindArena(gateMark);
      dropped.inactive++;
      return true;
    }
    if (tok === actTok && (k === RETURN || k === THROW)) gateState = DONE;
    gateMark = A.pos;
    return false;
  }
  if (gateState === WAITING && k === CALL) {
    const id = head >>> 5;
    if (id >= actLo && id < actHi) {
      gateState = OPEN;
      actTok = tok;
      gateMark = A.pos;
      return false;
    }
  }
  rewindArena(gateMark);
  dropped.inactive++;
  return true;
}

/** Events in the buffer, not yet handed to the sink (runs.ts: the marks
 * at the front of a batch of a clearing run). */
export function pendingEvents(): number {
  return (wp / W) | 0;
}

/** Called once right after a flush empties the buffer (tracer.ts `rejoin`:
 * a worker's runs begin again at the front of the new trace's first batch);
 * its marks go into the fresh buffer. Not while an unwind is under way
 * (`runtime.d < hi`: a mark would unwind again): then at a later flush. */
let afterFlush: (() => void) | null = null;
export function setAfterFlush(fn: (() => void) | null): void {
  afterFlush = fn;
}

/** Hands the buffered events to the sink. Not while a value is being
 * encoded (the encoder writes into the arena, which a hand-over replaces):
 * the next flush takes them. */
export function flushEvents(): void {
  if ((wp === 0 && A.pos === 0) || encoding === true) return;
  const n = (wp / W) | 0;
  const s = sink;
  eventCount += n;
  if (s !== null && n > 0) {
    if (eventCount > maxEvents) {
      const keep = n - (eventCount - maxEvents);
      sink = null;
      dropReason = 'max_events';
      dropped.max_events += keep > 0 ? n - keep : n;
      if (keep > 0) s.submit(words, keep, A.buf, A.pos);
      s.limitReached();
      reportCounts(s);
    } else {
      s.submit(words, n, A.buf, A.pos);
    }
  } else if (s === null) {
    dropped[dropReason] += n;
  }
  rebaseClock();
  wp = 0;
  resetArena();
  gateMark = 0;
  lastEnd = 0;
  valuesOpen = false;
  // A value larger than the headroom may have grown the arena.
  arenaLimit = flushLimit();
  const h = afterFlush;
  if (h !== null && runtime.d >= hi) {
    afterFlush = null;
    h();
  }
}

/** Sizes of the buffers the probes write: event words (int32) and value
 * arena (bytes). A sink that hands them over instead of copying them
 * (js/tracer.ts, design-docs/trace-format.md *Hand-off*) gives buffers of
 * these sizes to `useBuffers`. */
export const BUFFER_WORDS = WORDS;
export const BUFFER_ARENA = ARENA_FLUSH + 2 * ARENA_HEADROOM;

/** The probes write into `w` and `a` from now on: called by the sink's
 * `submit` (the buffers it was given went to the writer; `flushEvents`
 * starts the new ones empty) or when nothing is buffered. */
export function useBuffers(w: Int32Array<ArrayBuffer>, a: Uint8Array): void {
  if (TALen(w) < WORDS || TALen(a) < BUFFER_ARENA) return;
  words = w;
  A.buf = a;
}

function full(): void {
  if (sink === null) {
    dropBuffered();
    return;
  }
  flushEvents();
}

function grow(): void {
  const n = new F64A(stkCap * 2);
  TASet(n, stk);
  stk = n;
  const f = new I32A(stkCap * 2);
  TASet(f, fid);
  fid = f;
  stkCap *= 2;
}

// NODEREC_CLOCK=precise: a clock read per event (performance.now(), shifted
// to the session clock) instead of the published value. The Int32Array store
// keeps the µs modulo 2^32, as the published slot does. The fast paths of the
// probes write the published value only: in precise mode every probe takes
// the general path (`detour`), which writes through ev/evv/callRecord.
// `performance` is taken only then: the global's first read loads
// perf_hooks and its dependencies (~1.5 ms of every start otherwise).
var perfNow: () => number = noClock;
function noClock(): number {
  return 0;
}
var precise = false;
let preciseOff = 0;

// The clock (session/clock.rs, decisions.md 31 and 35). This thread's slot,
// `clock[0]`, holds the time its probes stamp: the time of this thread's
// last exact read, or -1 (0xFFFFFFFF, never a time), the mark. The clock
// thread writes the mark over the time once a millisecond, and parks once
// two such marks in a row were left unread. The probes drive the clock
// while they run: the next exact read is due when the buffer position `wp`
// reaches `exactAt`, and the fast paths' guard compares `wp` with
// `lastFast` (the lower of that and the buffer's last fast slot) where it
// compared it with the constant before: one load more per event, no store.
// The mark (the fast paths compare the time they load with -1) and a due
// read both take the general path, whose time() calls exact(): the native
// `clockWake()` stores the session time now into the slot and returns it
// (waking the clock thread if it sleeps), and the next read is set from the
// events and time since the last one, so that exact reads come about every
// `EXACT_US` of this thread's events. So a dense run of events pays a
// native call per few dozen events or more, a sparse one a native call
// per event at most, a stamp is at most one count or one mark old, and the
// first event after a pause carries its own time. Every read of `clock`
// goes through time() or that compare: no event records -1.
var wake: () => number = noClock;
/** `wp` at which the next exact read is due (past the buffer: a later one). */
var exactAt = 0;
/** The fast paths' bound on `wp`: min(F.LAST_FAST, exactAt). */
var lastFast = 0;
/** `wp` and the time at the last exact read (`wp` rebased at each flush). */
var exactWp = 0;
var lastExact = 0;
/** The interval aimed at between two exact reads of a thread (µs). */
const EXACT_US = 50;
/** Most events between two exact reads (a rate that drops is caught by the 1 ms mark). */
const EXACT_MAX = 4096;

/** The native call time() makes when the clock is parked. */
export function setClockWake(fn: (() => number) | null): void {
  wake = fn ?? noClock;
  exactAt = lastFast = exactWp = lastExact = 0;
}

/** The buffer was handed off or dropped: `wp` goes back to 0. */
function rebaseClock(): void {
  exactAt -= wp;
  exactWp -= wp;
  lastFast = exactAt < F.LAST_FAST ? exactAt : F.LAST_FAST;
}

/** The time an event written at `wp` stamps: the slot's, or an exact read
 * when the slot holds the mark or one is due. */
function time(): number {
  const t = clock[0];
  return t !== -1 && wp < exactAt ? t : exact();
}

/** An exact read: the session time now (stored into the slot); sets when
 * the next one is due. */
function exact(): number {
  const now = wake() | 0;
  const dt = (now - lastExact) | 0;
  // Events since the last exact read, this one included.
  const n = ((wp - exactWp) / W + 1) | 0;
  let k = dt > 1 ? ((n * EXACT_US) / dt) | 0 : n * EXACT_US;
  k = k < 1 ? 1 : k > EXACT_MAX ? EXACT_MAX : k;
  exactWp = wp;
  exactAt = wp + k * W;
  lastFast = exactAt < F.LAST_FAST ? exactAt : F.LAST_FAST;
  lastExact = now;
  return now;
}

/** Precise mode on (`sessionNowUs`: the native session clock read now) or off (null). */
export function setPreciseClock(sessionNowUs: number | null): void {
  precise = sessionNowUs !== null;
  if (sessionNowUs !== null && perfNow === noClock) perfNow = performance.now.bind(performance);
  if (sessionNowUs !== null) preciseOff = sessionNowUs - perfNow() * 1000;
  detour = gated || precise || encoding;
}

/** Appends an event without values (of activation `tok`, for the gate). */
function ev(head: number, tok: number): void {
  if (gated && gate(head, tok)) return;
  const i = wp;
  words[i] = head;
  words[i + 1] = precise ? perfNow() * 1000 + preciseOff : time();
  wp = i + W;
  if (wp === WORDS) full();
}

/** Appends an event whose values were just written to the arena. */
function evv(head: number, tok: number): void {
  if (gated && gate(head | HAS, tok)) {
    lastEnd = A.pos;
    valuesOpen = false;
    return;
  }
  const i = wp;
  words[i] = head | HAS;
  words[i + 1] = precise ? perfNow() * 1000 + preciseOff : time();
  words[i + 2] = lastEnd = A.pos;
  valuesOpen = false;
  wp = i + W;
  if (wp === WORDS || A.pos > arenaLimit) full();
}

/** The bytes of a float64 (little-endian, as the encoder writes them). */
var f64 = new Float64Array(1);
var f64b = new Uint8Array(f64.buffer);

/** Writes a primitive at `p` of `b` as the encoder would: a number, undefined,
 * null, a boolean, or a short ASCII string without a secret (as val()); returns
 * the new position, or -1 (what was written is not part of the event) for
 * any other value. `id`: the function whose `attr:` rules apply to a
 * string, or -1 - i for the function of the activation at index i (returns).
 */
function fv(b: Uint8Array, p: number, v: unknown, id: number): number {
  if (typeof v === 'number') {
    if ((v | 0) !== v || (v === 0 && 1 / v < 0)) return fd(b, p, v);
    const z = ((v << 1) ^ (v >> 31)) >>> 0;
    b[p] = 4;
    // One or two bytes (|v| < 8192) without the loop: V8 checks the stack
    // and reloads the array at every iteration of a loop.
    if (z < 0x80) {
      b[p + 1] = z;
      return p + 2;
    }
    if (z < 0x4000) {
      b[p + 1] = (z & 0x7f) | 0x80;
      b[p + 2] = z >>> 7;
      return p + 3;
    }
    return fz(b, p + 1, z);
  }
  if (v === undefined) {
    b[p] = 0;
    return p + 1;
  }
  if (typeof v === 'boolean') {
    b[p] = v ? 3 : 2;
    return p + 1;
  }
  if (v === null) {
    b[p] = 1;
    return p + 1;
  }
  if (typeof v === 'string') return fs(b, p, v, id);
  return -1;
}

// fz(), fd() and fs() are out of fv() so that fv stays small enough for V8
// to inline it into every probe (three times in c3); an int of 8192 or more
// in magnitude, a double or a string costs one more call.

/** The varint `z` (3 to 5 bytes) at `p`. */
function fz(b: Uint8Array, p: number, z: number): number {
  while (z >= 0x80) {
    b[p++] = (z & 0x7f) | 0x80;
    z >>>= 7;
  }
  b[p] = z;
  return p + 1;
}

/** Any number that is not a small int: tag 5 and the float64, as the
 * encoder writes it (value-encoder.ts putNumber). */
function fd(b: Uint8Array, p: number, v: number): number {
  f64[0] = v;
  const c = f64b;
  b[p] = 5;
  b[p + 1] = c[0];
  b[p + 2] = c[1];
  b[p + 3] = c[2];
  b[p + 4] = c[3];
  b[p + 5] = c[4];
  b[p + 6] = c[5];
  b[p + 7] = c[6];
  b[p + 8] = c[7];
  return p + 9;
}

/** A string as val() writes it: under 128 characters and the string bound,
 * ASCII, and unchanged by the secrets scan (a string holding a secret goes
 * through the encoder, which redacts it); else -1. The scan of query
 * strings and header lines asks the `attr:` rules of the probe's function
 * `id`, selected first as the general path does. */
function fs(b: Uint8Array, p: number, v: string, id: number): number {
  const n = v.length;
  if (n >= 128 || n > strMax) return -1;
  if (attrOn) attrFor(id >= 0 ? id : fid[-1 - id]);
  if (scrubString(v) !== v) return -1;
  b[p] = 6;
  b[p + 1] = n;
  b[p + 2] = n;
  let q = p + 3;
  for (let i = 0; i < n; i++) {
    const c = CharCodeAt(v, i);
    if (c >= 0x80) return -1;
    b[q++] = c;
  }
  return q;
}

/** Appends `v` at the arena position `p` (fast path, else the encoder);
 * returns the new position. */
function at(p: number, v: unknown, id: number): number {
  const q = fv(A.buf, p, v, id);
  if (q >= 0) return q;
  A.pos = p;
  val(v);
  return A.pos;
}

/** Encodes `v` into the arena (`shallow`: with the `this` depth bound)
 * with the re-entry guard set (see `encoding`). The program's height is put
 * back after it: code the encoder ran leaves `__nr$.d` at its own calls'
 * unrecorded height. */
function encode(v: unknown, shallow: boolean): void {
  const d = runtime.d;
  encoding = true;
  detour = true;
  try {
    if (shallow) writeValueShallow(v);
    else writeValue(v);
  } finally {
    encoding = false;
    detour = gated || precise;
    runtime.d = d;
  }
}

/** A value is being encoded (js/runtime/io-capture.ts keeps output written
 * meanwhile for the next boundary). */
export function encodingNow(): boolean {
  return encoding;
}

/** Appends one value: primitives inline, the rest through the encoder. */
function val(v: unknown): void {
  if (typeof v === 'number') {
    if ((v | 0) === v && (v !== 0 || 1 / v > 0)) {
      const b = A.buf;
      let p = A.pos;
      b[p++] = 4;
      let z = ((v << 1) ^ (v >> 31)) >>> 0;
      while (z >= 0x80) {
        b[p++] = (z & 0x7f) | 0x80;
        z >>>= 7;
      }
      b[p++] = z;
      A.pos = p;
      return;
    }
  } else if (v === undefined) {
    A.buf[A.pos++] = 0;
    return;
  } else if (typeof v === 'boolean') {
    A.buf[A.pos++] = v ? 3 : 2;
    return;
  } else if (v === null) {
    A.buf[A.pos++] = 1;
    return;
  } else if (typeof v === 'string' && v.length < 128 && v.length <= strMax) {
    // A string holding a secret goes through the encoder, which redacts it.
    if (scrubString(v) === v && asciiString(v)) return;
  }
  encode(v, false);
}

/** Writes a short ASCII string; false (nothing written) if it is not ASCII. */
function asciiString(s: string): boolean {
  const b = A.buf;
  const start = A.pos;
  const n = s.length;
  b[start] = 6;
  b[start + 1] = n;
  b[start + 2] = n;
  let p = start + 3;
  for (let i = 0; i < n; i++) {
    const c = CharCodeAt(s, i);
    if (c >= 0x80) return false;
    b[p++] = c;
  }
  A.pos = p;
  return true;
}

function argc(n: number): void {
  A.buf[A.pos++] = n;
}

// ---- the runtime object --------------------------------------------------

/** The value a `return` hands to r(): instrumented code writes
 * `return (__nr$v=e,__nr$.r($nr$a))`, which keeps nothing of the returned
 * expression in the function's frame while `e` is evaluated. A global lexical
 * binding (js/runtime/global-binding.ts). */
declare let __nr$v: unknown;

/** What instrumented code reaches as `__nr$` (design-docs/probes.md). */
var runtime = {
  /** The program's stack height (see the top of this file). */
  d: 0,
  /** A catch clause of a synchronous function ran since the last probe: its
   * activation's height (-1: none). Set through the setter `Q` (catchAt),
   * with the error in `e`; the next probe records the catch (caught()). */
  q: -1,
  /** The error of the catch waiting in `q`. */
  e: undefined as unknown,
  c,
  c1,
  c2,
  c3,
  c4,
  c5,
  c6,
  cn,
  m0,
  m1,
  m2,
  m3,
  mn,
  t,
  r,
  u,
  f,
  fr,
  frt,
  k,
  aw,
  yd,
  rs,
  // filters (design-docs/filters.md)
  xa,
  xd,
  xt,
  dt,
  rr,
  rx,
  frr,
  frx,
  kr,
  kx,
  xv,
  rv,
  frv,
  fa,
  act,
  bp,
  /** `__nr$v=__nr$.V(e)`: an identity, so that V8 infers no name for a
   * function `e` carries (instrument/inference.rs). */
  V: (v: unknown): unknown => v,
  /** The Node 20 CommonJS hook's hand-over (js/hooks/cjs.ts). */
  cjs: noop as () => unknown,
  /** Registers the function table of code instrumented in another process
   * and returns its base id (noderec/vite-plugin; set by js/tracer.ts). */
  reg: ((): number => 0) as (table: string) => number,
};
// `(__nr$).prototype=e`: a value that may carry a function V8 has not named
// yet crosses into `__nr$v` through this setter, from which V8 infers no name
// (instrument/inference.rs; probes.md, *Names V8 infers*). Not enumerable:
// a vm context's `__nr$` copies the enumerable ones and defines its own.
Object.defineProperty(runtime, 'prototype', {
  set(v: unknown) {
    __nr$v = v;
  },
  enumerable: false,
});
// Exported by name here, not with `export const`: TypeScript's CommonJS
// output turns every use of an `export const` into a load from `exports`,
// which the probes would pay on every event.
export { CALL, RETURN, THROW, AWAIT, RESUME, YIELD, CATCH, OUTPUT, MARK, UNCAUGHT, runtime };

/** Sets this realm's `__nr$v`: the value-carrying probes of a vm context
 * (js/runtime/global-binding.ts) hand over the value their own realm's
 * binding holds before calling the probe. */
export function putValue(v: unknown): void {
  __nr$v = v;
}

// ---- the stack -------------------------------------------------------------

/** Records a throw for every entry in [n, hi), innermost first; the
 * height becomes n. */
function unwindTo(n: number): void {
  for (let i = hi - 1; i >= n; i--) ev(THROW, stk[i]);
  hi = n;
  runtime.d = n;
}

/** Makes the recorded height agree with the program's height `d` and
 * returns it. Above `hi`, `d` is a frame from before reset(): ignored. */
function sync(d: number): number {
  if (runtime.q !== -1) d = caught(d);
  // Left by the `finally` of a package's activation that is not recorded:
  // the height it was called at, which is the program's again.
  if (d >= SKIP_AT) d -= SKIP_AT;
  if (d < hi) {
    unwindTo(d);
    return d;
  }
  runtime.d = hi;
  return hi;
}

/** Records the catch waiting in `runtime.q` (design-docs/probes.md,
 * *Catches*): the throws of the activations above it first (they were left
 * before the catch clause ran), then the catch with its error. Returns the
 * program's height: `d`, or, when no `finally` ran since the catch (`d` is
 * still the catch's -1), the catching activation's. */
function caught(d: number): number {
  const i = runtime.q;
  const e = runtime.e;
  runtime.q = -1;
  runtime.e = undefined;
  // Above `hi`: a package's activation that is not recorded (SKIP), or one
  // from before reset().
  if (i >= 0 && i < hi) {
    if (i + 1 < hi) unwindTo(i + 1);
    catchEvent(i, e);
  }
  return d < 0 ? hi : d;
}

/** Records the catch of the activation at index `i` with `e`. */
function catchEvent(i: number, e: unknown): void {
  if (capture) {
    if (attrOn) attrFor(fid[i]);
    valuesStart();
    encode(e, false);
    evv(CATCH, stk[i]);
  } else ev(CATCH, stk[i]);
}

/** The index of the activation `x` (a height, or a negated token) after
 * recording a throw for everything left above it; -1 if unknown. A
 * suspended activation found here resumed by an exception (a rejected
 * await, a generator thrown into or closed): its resumption is recorded. */
function own(x: number): number {
  const d = runtime.d;
  if (d !== hi) sync(d);
  if (x >= SKIP_AT || x === -SKIP) return -1;
  let i: number;
  if (x >= 0) {
    i = x < hi ? x : -1;
  } else {
    const tok = -x;
    i = hi - 1;
    while (i >= 0 && stk[i] !== tok) i--;
    if (i < 0) {
      const id: number | undefined = MapGet(suspended, tok);
      if (id === undefined) return -1;
      MapDelete(suspended, tok);
      resumeEntry(tok, id);
      return hi - 1;
    }
  }
  if (i >= 0 && i + 1 < hi) unwindTo(i + 1);
  return i;
}

/** Writes a call event's record (its values, if any, already in the
 * arena). enter() pushes the entry right after, and flushes only then:
 * nothing may throw between the record and the push. */
function callRecord(head: number, tok: number): void {
  valuesOpen = false;
  if (gated && gate(head, tok)) {
    lastEnd = A.pos;
    return;
  }
  const i = wp;
  words[i] = head;
  words[i + 1] = precise ? perfNow() * 1000 + preciseOff : time();
  words[i + 2] = lastEnd = A.pos;
  wp = i + W;
}

// ---- calls ---------------------------------------------------------------
// Each returns the new entry's index: the frame's `$nr$a` in a synchronous
// function (t() turns it into a token for async functions and generators).
//
// Out of line on purpose. V8 inlines small functions into their callers,
// and a probe inlined into an instrumented function makes that function's
// frame larger (the probe's values need registers and spill slots there),
// which every level of a recursion pays: recorded programs ran out of stack
// at half the depth (issue 8). V8 does not inline a function of more than
// 460 bytes of bytecode (--max-inlined-bytecode-size), so each probe that
// instrumented code calls starts with a branch that never runs and only
// makes it longer than that (`OUT_OF_LINE`). Inside, the common case
// (nothing to reconcile, room in the buffer, small primitive values) is
// handled without calling anything; the rest goes to enter() / leave().
// bench/stack-depth.js measures the depth; design-docs/decisions.md has the
// figures and the price (a call per probe, a few ns).

/** Never true; see above. */
var OUT_OF_LINE = false;
/** Never called; see above. (Forty one-argument calls: about 560 bytes of
 * bytecode that use three registers, so the padding does not enlarge the
 * probes' own frames either.) */
function outOfLine(k: number): number {
  OUT_OF_LINE = false;
  return k;
}


/** The general call probe: `n` arguments (x, y, z), or `xs` when n < 0;
 * `self` for methods. */
function enter(id: number, n: number, method: boolean, self: unknown, x: unknown, y: unknown, z: unknown, xs: unknown[] | null): number {
  // Called by code the encoder ran: not recorded, as a package's call is not
  // (its exit probes find no activation).
  if (encoding === true) {
    reentrant++;
    return SKIP_AT + hi;
  }
  if (ioFlag[0] !== 0) ioBoundary();
  let d = runtime.d;
  if (d !== hi) d = sync(d);
  // --scope project: a function of a package records its call only when
  // the innermost recorded activation is the project's own code.
  if (inPkg(id) && (d === 0 || inPkg(fid[d - 1]))) return SKIP_AT + d;
  if (d === stkCap) grow();
  const a = seq + 1;
  if (capture && (n !== 0 || method)) {
    if (attrOn) attrFor(id);
    valuesStart();
    const count = n < 0 && xs !== null ? xs.length : n;
    if (method) {
      writeVarint(count * 2 + 1);
      encode(self, true);
    } else if (n >= 0) {
      argc(count * 2);
    } else {
      writeVarint(count * 2);
    }
    switch (n) {
      case 0:
        break;
      case 1:
        A.pos = at(A.pos, x, id);
        break;
      case 2:
        A.pos = at(at(A.pos, x, id), y, id);
        break;
      case 3:
        A.pos = at(at(at(A.pos, x, id), y, id), z, id);
        break;
      default:
        if (xs !== null) for (let i = 0; i < xs.length; i++) val(xs[i]);
    }
    callRecord((id << 5) | CALL | HAS, a);
  } else callRecord((id << 5) | CALL, a);
  return opened(d, id, a);
}

/** The activation of function `id` at height `d`, whose call event `a` was
 * just recorded (enter, cv): pushed, and the buffers handed over when full. */
function opened(d: number, id: number, a: number): number {
  seq = a;
  stk[d] = a;
  fid[d] = id;
  runtime.d = hi = d + 1;
  if (wp === WORDS || A.pos > arenaLimit) full();
  return d;
}

/** c1..c3 and m1..m3 when an argument is a value fv() does not write (an
 * object, a function, a long or non-ASCII string, a string with a secret):
 * the `n` arguments again from `p0` (past the count byte and, for a method,
 * the receiver, which the caller wrote), the others through fv() and that
 * one through the encoder, without enter()'s generic work (the caller's
 * guard ruled out each case it handles: another stack height, the io flag,
 * package code, a full stack, the gate, the precise clock). As in enter(),
 * the values are open while the encoder runs (valuesStart) and the arena
 * limit is looked at once the event is recorded: nothing is written twice. */
function cv(id: number, d: number, p0: number, n: number, x: unknown, y: unknown, z: unknown): number {
  if (attrOn) attrFor(id);
  valuesStart();
  let p = at(p0, x, id);
  if (n > 1) p = at(p, y, id);
  if (n > 2) p = at(p, z, id);
  A.pos = p;
  const a = seq + 1;
  callRecord((id << 5) | CALL | HAS, a);
  return opened(d, id, a);
}

export function c(id: number): number {
  if (OUT_OF_LINE === true) outOfLine(0) + outOfLine(1) + outOfLine(2) + outOfLine(3) + outOfLine(4) + outOfLine(5) + outOfLine(6) + outOfLine(7) + outOfLine(8) + outOfLine(9) + outOfLine(10) + outOfLine(11) + outOfLine(12) + outOfLine(13) + outOfLine(14) + outOfLine(15) + outOfLine(16) + outOfLine(17) + outOfLine(18) + outOfLine(19) + outOfLine(20) + outOfLine(21) + outOfLine(22) + outOfLine(23) + outOfLine(24) + outOfLine(25) + outOfLine(26) + outOfLine(27) + outOfLine(28) + outOfLine(29) + outOfLine(30) + outOfLine(31) + outOfLine(32) + outOfLine(33) + outOfLine(34) + outOfLine(35) + outOfLine(36) + outOfLine(37) + outOfLine(38) + outOfLine(39);
  const d = runtime.d;
  if (d !== hi || ioFlag[0] !== 0 || wp >= lastFast || d >= stkCap || detour === true || (id < pkgLen && pkg[id] === 1)) return enter(id, 0, false, undefined, undefined, undefined, undefined, null);
  const t = clock[0];
  if (t === -1) return enter(id, 0, false, undefined, undefined, undefined, undefined, null);
  const a = seq + 1;
  const i = wp;
  words[i] = (id << 5) | F.CALL;
  words[i + 1] = t;
  words[i + 2] = lastEnd;
  wp = i + F.W;
  seq = a;
  stk[d] = a;
  fid[d] = id;
  runtime.d = hi = d + 1;
  return d;
}

export function c1(id: number, x: unknown): number {
  if (OUT_OF_LINE === true) outOfLine(0) + outOfLine(1) + outOfLine(2) + outOfLine(3) + outOfLine(4) + outOfLine(5) + outOfLine(6) + outOfLine(7) + outOfLine(8) + outOfLine(9) + outOfLine(10) + outOfLine(11) + outOfLine(12) + outOfLine(13) + outOfLine(14) + outOfLine(15) + outOfLine(16) + outOfLine(17) + outOfLine(18) + outOfLine(19) + outOfLine(20) + outOfLine(21) + outOfLine(22) + outOfLine(23) + outOfLine(24) + outOfLine(25) + outOfLine(26) + outOfLine(27) + outOfLine(28) + outOfLine(29) + outOfLine(30) + outOfLine(31) + outOfLine(32) + outOfLine(33) + outOfLine(34) + outOfLine(35) + outOfLine(36) + outOfLine(37) + outOfLine(38) + outOfLine(39);
  const d = runtime.d;
  if (d !== hi || ioFlag[0] !== 0 || wp >= lastFast || d >= stkCap || detour === true || (id < pkgLen && pkg[id] === 1)) return enter(id, 1, false, undefined, x, undefined, undefined, null);
  let head = (id << 5) | F.CALL;
  if (capture === true) {
    const b = A.buf;
    let p = lastEnd;
    b[p++] = 2;
    p = fv(b, p, x, id);
    if (p < 0) return cv(id, d, lastEnd + 1, 1, x, undefined, undefined);
    if (p > arenaLimit) return enter(id, 1, false, undefined, x, undefined, undefined, null);
    A.pos = p;
    head |= F.HAS;
  }
  const t = clock[0];
  if (t === -1) return enter(id, 1, false, undefined, x, undefined, undefined, null);
  const a = seq + 1;
  const i = wp;
  words[i] = head;
  words[i + 1] = t;
  words[i + 2] = lastEnd = A.pos;
  wp = i + F.W;
  seq = a;
  stk[d] = a;
  fid[d] = id;
  runtime.d = hi = d + 1;
  return d;
}

export function c2(id: number, x: unknown, y: unknown): number {
  if (OUT_OF_LINE === true) outOfLine(0) + outOfLine(1) + outOfLine(2) + outOfLine(3) + outOfLine(4) + outOfLine(5) + outOfLine(6) + outOfLine(7) + outOfLine(8) + outOfLine(9) + outOfLine(10) + outOfLine(11) + outOfLine(12) + outOfLine(13) + outOfLine(14) + outOfLine(15) + outOfLine(16) + outOfLine(17) + outOfLine(18) + outOfLine(19) + outOfLine(20) + outOfLine(21) + outOfLine(22) + outOfLine(23) + outOfLine(24) + outOfLine(25) + outOfLine(26) + outOfLine(27) + outOfLine(28) + outOfLine(29) + outOfLine(30) + outOfLine(31) + outOfLine(32) + outOfLine(33) + outOfLine(34) + outOfLine(35) + outOfLine(36) + outOfLine(37) + outOfLine(38) + outOfLine(39);
  const d = runtime.d;
  if (d !== hi || ioFlag[0] !== 0 || wp >= lastFast || d >= stkCap || detour === true || (id < pkgLen && pkg[id] === 1)) return enter(id, 2, false, undefined, x, y, undefined, null);
  let head = (id << 5) | F.CALL;
  if (capture === true) {
    const b = A.buf;
    let p = lastEnd;
    b[p++] = 4;
    p = fv(b, p, x, id);
    if (p >= 0) p = fv(b, p, y, id);
    if (p < 0) return cv(id, d, lastEnd + 1, 2, x, y, undefined);
    if (p > arenaLimit) return enter(id, 2, false, undefined, x, y, undefined, null);
    A.pos = p;
    head |= F.HAS;
  }
  const t = clock[0];
  if (t === -1) return enter(id, 2, false, undefined, x, y, undefined, null);
  const a = seq + 1;
  const i = wp;
  words[i] = head;
  words[i + 1] = t;
  words[i + 2] = lastEnd = A.pos;
  wp = i + F.W;
  seq = a;
  stk[d] = a;
  fid[d] = id;
  runtime.d = hi = d + 1;
  return d;
}

export function c3(id: number, x: unknown, y: unknown, z: unknown): number {
  if (OUT_OF_LINE === true) outOfLine(0) + outOfLine(1) + outOfLine(2) + outOfLine(3) + outOfLine(4) + outOfLine(5) + outOfLine(6) + outOfLine(7) + outOfLine(8) + outOfLine(9) + outOfLine(10) + outOfLine(11) + outOfLine(12) + outOfLine(13) + outOfLine(14) + outOfLine(15) + outOfLine(16) + outOfLine(17) + outOfLine(18) + outOfLine(19) + outOfLine(20) + outOfLine(21) + outOfLine(22) + outOfLine(23) + outOfLine(24) + outOfLine(25) + outOfLine(26) + outOfLine(27) + outOfLine(28) + outOfLine(29) + outOfLine(30) + outOfLine(31) + outOfLine(32) + outOfLine(33) + outOfLine(34) + outOfLine(35) + outOfLine(36) + outOfLine(37) + outOfLine(38) + outOfLine(39);
  const d = runtime.d;
  if (d !== hi || ioFlag[0] !== 0 || wp >= lastFast || d >= stkCap || detour === true || (id < pkgLen && pkg[id] === 1)) return enter(id, 3, false, undefined, x, y, z, null);
  let head = (id << 5) | F.CALL;
  if (capture === true) {
    const b = A.buf;
    let p = lastEnd;
    b[p++] = 6;
    p = fv(b, p, x, id);
    if (p >= 0) p = fv(b, p, y, id);
    if (p >= 0) p = fv(b, p, z, id);
    if (p < 0) return cv(id, d, lastEnd + 1, 3, x, y, z);
    if (p > arenaLimit) return enter(id, 3, false, undefined, x, y, z, null);
    A.pos = p;
    head |= F.HAS;
  }
  const t = clock[0];
  if (t === -1) return enter(id, 3, false, undefined, x, y, z, null);
  const a = seq + 1;
  const i = wp;
  words[i] = head;
  words[i + 1] = t;
  words[i + 2] = lastEnd = A.pos;
  wp = i + F.W;
  seq = a;
  stk[d] = a;
  fid[d] = id;
  runtime.d = hi = d + 1;
  return d;
}

/** A call with 4 arguments: as c3 (fixed parameters, so no rest array); a
 * value fv() does not write goes to enter() with the arguments in an array. */
export function c4(id: number, x: unknown, y: unknown, z: unknown, w: unknown): number {
  if (OUT_OF_LINE === true) outOfLine(0) + outOfLine(1) + outOfLine(2) + outOfLine(3) + outOfLine(4) + outOfLine(5) + outOfLine(6) + outOfLine(7) + outOfLine(8) + outOfLine(9) + outOfLine(10) + outOfLine(11) + outOfLine(12) + outOfLine(13) + outOfLine(14) + outOfLine(15) + outOfLine(16) + outOfLine(17) + outOfLine(18) + outOfLine(19) + outOfLine(20) + outOfLine(21) + outOfLine(22) + outOfLine(23) + outOfLine(24) + outOfLine(25) + outOfLine(26) + outOfLine(27) + outOfLine(28) + outOfLine(29) + outOfLine(30) + outOfLine(31) + outOfLine(32) + outOfLine(33) + outOfLine(34) + outOfLine(35) + outOfLine(36) + outOfLine(37) + outOfLine(38) + outOfLine(39);
  const d = runtime.d;
  if (d !== hi || ioFlag[0] !== 0 || wp >= lastFast || d >= stkCap || detour === true || (id < pkgLen && pkg[id] === 1)) return enter(id, -1, false, undefined, undefined, undefined, undefined, [x, y, z, w]);
  let head = (id << 5) | F.CALL;
  if (capture === true) {
    const b = A.buf;
    let p = lastEnd;
    b[p++] = 8;
    p = fv(b, p, x, id);
    if (p >= 0) p = fv(b, p, y, id);
    if (p >= 0) p = fv(b, p, z, id);
    if (p >= 0) p = fv(b, p, w, id);
    if (p < 0 || p > arenaLimit) return enter(id, -1, false, undefined, undefined, undefined, undefined, [x, y, z, w]);
    A.pos = p;
    head |= F.HAS;
  }
  const t = clock[0];
  if (t === -1) return enter(id, -1, false, undefined, undefined, undefined, undefined, [x, y, z, w]);
  const a = seq + 1;
  const i = wp;
  words[i] = head;
  words[i + 1] = t;
  words[i + 2] = lastEnd = A.pos;
  wp = i + F.W;
  seq = a;
  stk[d] = a;
  fid[d] = id;
  runtime.d = hi = d + 1;
  return d;
}

/** A call with 5 arguments: as c3 (fixed parameters, so no rest array); a
 * value fv() does not write goes to enter() with the arguments in an array. */
export function c5(id: number, x: unknown, y: unknown, z: unknown, w: unknown, v5: unknown): number {
  if (OUT_OF_LINE === true) outOfLine(0) + outOfLine(1) + outOfLine(2) + outOfLine(3) + outOfLine(4) + outOfLine(5) + outOfLine(6) + outOfLine(7) + outOfLine(8) + outOfLine(9) + outOfLine(10) + outOfLine(11) + outOfLine(12) + outOfLine(13) + outOfLine(14) + outOfLine(15) + outOfLine(16) + outOfLine(17) + outOfLine(18) + outOfLine(19) + outOfLine(20) + outOfLine(21) + outOfLine(22) + outOfLine(23) + outOfLine(24) + outOfLine(25) + outOfLine(26) + outOfLine(27) + outOfLine(28) + outOfLine(29) + outOfLine(30) + outOfLine(31) + outOfLine(32) + outOfLine(33) + outOfLine(34) + outOfLine(35) + outOfLine(36) + outOfLine(37) + outOfLine(38) + outOfLine(39);
  const d = runtime.d;
  if (d !== hi || ioFlag[0] !== 0 || wp >= lastFast || d >= stkCap || detour === true || (id < pkgLen && pkg[id] === 1)) return enter(id, -1, false, undefined, undefined, undefined, undefined, [x, y, z, w, v5]);
  let head = (id << 5) | F.CALL;
  if (capture === true) {
    const b = A.buf;
    let p = lastEnd;
    b[p++] = 10;
    p = fv(b, p, x, id);
    if (p >= 0) p = fv(b, p, y, id);
    if (p >= 0) p = fv(b, p, z, id);
    if (p >= 0) p = fv(b, p, w, id);
    if (p >= 0) p = fv(b, p, v5, id);
    if (p < 0 || p > arenaLimit) return enter(id, -1, false, undefined, undefined, undefined, undefined, [x, y, z, w, v5]);
    A.pos = p;
    head |= F.HAS;
  }
  const t = clock[0];
  if (t === -1) return enter(id, -1, false, undefined, undefined, undefined, undefined, [x, y, z, w, v5]);
  const a = seq + 1;
  const i = wp;
  words[i] = head;
  words[i + 1] = t;
  words[i + 2] = lastEnd = A.pos;
  wp = i + F.W;
  seq = a;
  stk[d] = a;
  fid[d] = id;
  runtime.d = hi = d + 1;
  return d;
}

/** A call with 6 arguments: as c3 (fixed parameters, so no rest array); a
 * value fv() does not write goes to enter() with the arguments in an array. */
export function c6(id: number, x: unknown, y: unknown, z: unknown, w: unknown, v5: unknown, v6: unknown): number {
  if (OUT_OF_LINE === true) outOfLine(0) + outOfLine(1) + outOfLine(2) + outOfLine(3) + outOfLine(4) + outOfLine(5) + outOfLine(6) + outOfLine(7) + outOfLine(8) + outOfLine(9) + outOfLine(10) + outOfLine(11) + outOfLine(12) + outOfLine(13) + outOfLine(14) + outOfLine(15) + outOfLine(16) + outOfLine(17) + outOfLine(18) + outOfLine(19) + outOfLine(20) + outOfLine(21) + outOfLine(22) + outOfLine(23) + outOfLine(24) + outOfLine(25) + outOfLine(26) + outOfLine(27) + outOfLine(28) + outOfLine(29) + outOfLine(30) + outOfLine(31) + outOfLine(32) + outOfLine(33) + outOfLine(34) + outOfLine(35) + outOfLine(36) + outOfLine(37) + outOfLine(38) + outOfLine(39);
  const d = runtime.d;
  if (d !== hi || ioFlag[0] !== 0 || wp >= lastFast || d >= stkCap || detour === true || (id < pkgLen && pkg[id] === 1)) return enter(id, -1, false, undefined, undefined, undefined, undefined, [x, y, z, w, v5, v6]);
  let head = (id << 5) | F.CALL;
  if (capture === true) {
    const b = A.buf;
    let p = lastEnd;
    b[p++] = 12;
    p = fv(b, p, x, id);
    if (p >= 0) p = fv(b, p, y, id);
    if (p >= 0) p = fv(b, p, z, id);
    if (p >= 0) p = fv(b, p, w, id);
    if (p >= 0) p = fv(b, p, v5, id);
    if (p >= 0) p = fv(b, p, v6, id);
    if (p < 0 || p > arenaLimit) return enter(id, -1, false, undefined, undefined, undefined, undefined, [x, y, z, w, v5, v6]);
    A.pos = p;
    head |= F.HAS;
  }
  const t = clock[0];
  if (t === -1) return enter(id, -1, false, undefined, undefined, undefined, undefined, [x, y, z, w, v5, v6]);
  const a = seq + 1;
  const i = wp;
  words[i] = head;
  words[i + 1] = t;
  words[i + 2] = lastEnd = A.pos;
  wp = i + F.W;
  seq = a;
  stk[d] = a;
  fid[d] = id;
  runtime.d = hi = d + 1;
  return d;
}

export function cn(id: number, ...xs: unknown[]): number {
  if (OUT_OF_LINE === true) outOfLine(0) + outOfLine(1) + outOfLine(2) + outOfLine(3) + outOfLine(4) + outOfLine(5) + outOfLine(6) + outOfLine(7) + outOfLine(8) + outOfLine(9) + outOfLine(10) + outOfLine(11) + outOfLine(12) + outOfLine(13) + outOfLine(14) + outOfLine(15) + outOfLine(16) + outOfLine(17) + outOfLine(18) + outOfLine(19) + outOfLine(20) + outOfLine(21) + outOfLine(22) + outOfLine(23) + outOfLine(24) + outOfLine(25) + outOfLine(26) + outOfLine(27) + outOfLine(28) + outOfLine(29) + outOfLine(30) + outOfLine(31) + outOfLine(32) + outOfLine(33) + outOfLine(34) + outOfLine(35) + outOfLine(36) + outOfLine(37) + outOfLine(38) + outOfLine(39);
  return enter(id, -1, false, undefined, undefined, undefined, undefined, xs);
}

export function m0(id: number, self: unknown): number {
  if (OUT_OF_LINE === true) outOfLine(0) + outOfLine(1) + outOfLine(2) + outOfLine(3) + outOfLine(4) + outOfLine(5) + outOfLine(6) + outOfLine(7) + outOfLine(8) + outOfLine(9) + outOfLine(10) + outOfLine(11) + outOfLine(12) + outOfLine(13) + outOfLine(14) + outOfLine(15) + outOfLine(16) + outOfLine(17) + outOfLine(18) + outOfLine(19) + outOfLine(20) + outOfLine(21) + outOfLine(22) + outOfLine(23) + outOfLine(24) + outOfLine(25) + outOfLine(26) + outOfLine(27) + outOfLine(28) + outOfLine(29) + outOfLine(30) + outOfLine(31) + outOfLine(32) + outOfLine(33) + outOfLine(34) + outOfLine(35) + outOfLine(36) + outOfLine(37) + outOfLine(38) + outOfLine(39);
  const d = runtime.d;
  if (d !== hi || ioFlag[0] !== 0 || wp >= lastFast || d >= stkCap || detour === true || (id < pkgLen && pkg[id] === 1)) return enter(id, 0, true, self, undefined, undefined, undefined, null);
  let head = (id << 5) | F.CALL;
  if (capture === true) {
    const b = A.buf;
    let p = lastEnd;
    b[p++] = 1;
    p = thisFast(b, p, self);
    if (p < 0 || p > arenaLimit) return enter(id, 0, true, self, undefined, undefined, undefined, null);
    A.pos = p;
    head |= F.HAS;
  }
  const t = clock[0];
  if (t === -1) return enter(id, 0, true, self, undefined, undefined, undefined, null);
  const a = seq + 1;
  const i = wp;
  words[i] = head;
  words[i + 1] = t;
  words[i + 2] = lastEnd = A.pos;
  wp = i + F.W;
  seq = a;
  stk[d] = a;
  fid[d] = id;
  runtime.d = hi = d + 1;
  return d;
}

export function m1(id: number, self: unknown, x: unknown): number {
  if (OUT_OF_LINE === true) outOfLine(0) + outOfLine(1) + outOfLine(2) + outOfLine(3) + outOfLine(4) + outOfLine(5) + outOfLine(6) + outOfLine(7) + outOfLine(8) + outOfLine(9) + outOfLine(10) + outOfLine(11) + outOfLine(12) + outOfLine(13) + outOfLine(14) + outOfLine(15) + outOfLine(16) + outOfLine(17) + outOfLine(18) + outOfLine(19) + outOfLine(20) + outOfLine(21) + outOfLine(22) + outOfLine(23) + outOfLine(24) + outOfLine(25) + outOfLine(26) + outOfLine(27) + outOfLine(28) + outOfLine(29) + outOfLine(30) + outOfLine(31) + outOfLine(32) + outOfLine(33) + outOfLine(34) + outOfLine(35) + outOfLine(36) + outOfLine(37) + outOfLine(38) + outOfLine(39);
  const d = runtime.d;
  if (d !== hi || ioFlag[0] !== 0 || wp >= lastFast || d >= stkCap || detour === true || (id < pkgLen && pkg[id] === 1)) return enter(id, 1, true, self, x, undefined, undefined, null);
  let head = (id << 5) | F.CALL;
  if (capture === true) {
    const b = A.buf;
    let p = lastEnd;
    b[p++] = 3;
    p = thisFast(b, p, self);
    if (p < 0) return enter(id, 1, true, self, x, undefined, undefined, null);
    const p0 = p;
    p = fv(b, p, x, id);
    if (p < 0) return cv(id, d, p0, 1, x, undefined, undefined);
    if (p > arenaLimit) return enter(id, 1, true, self, x, undefined, undefined, null);
    A.pos = p;
    head |= F.HAS;
  }
  const t = clock[0];
  if (t === -1) return enter(id, 1, true, self, x, undefined, undefined, null);
  const a = seq + 1;
  const i = wp;
  words[i] = head;
  words[i + 1] = t;
  words[i + 2] = lastEnd = A.pos;
  wp = i + F.W;
  seq = a;
  stk[d] = a;
  fid[d] = id;
  runtime.d = hi = d + 1;
  return d;
}

export function m2(id: number, self: unknown, x: unknown, y: unknown): number {
  if (OUT_OF_LINE === true) outOfLine(0) + outOfLine(1) + outOfLine(2) + outOfLine(3) + outOfLine(4) + outOfLine(5) + outOfLine(6) + outOfLine(7) + outOfLine(8) + outOfLine(9) + outOfLine(10) + outOfLine(11) + outOfLine(12) + outOfLine(13) + outOfLine(14) + outOfLine(15) + outOfLine(16) + outOfLine(17) + outOfLine(18) + outOfLine(19) + outOfLine(20) + outOfLine(21) + outOfLine(22) + outOfLine(23) + outOfLine(24) + outOfLine(25) + outOfLine(26) + outOfLine(27) + outOfLine(28) + outOfLine(29) + outOfLine(30) + outOfLine(31) + outOfLine(32) + outOfLine(33) + outOfLine(34) + outOfLine(35) + outOfLine(36) + outOfLine(37) + outOfLine(38) + outOfLine(39);
  const d = runtime.d;
  if (d !== hi || ioFlag[0] !== 0 || wp >= lastFast || d >= stkCap || detour === true || (id < pkgLen && pkg[id] === 1)) return enter(id, 2, true, self, x, y, undefined, null);
  let head = (id << 5) | F.CALL;
  if (capture === true) {
    const b = A.buf;
    let p = lastEnd;
    b[p++] = 5;
    p = thisFast(b, p, self);
    if (p < 0) return enter(id, 2, true, self, x, y, undefined, null);
    const p0 = p;
    p = fv(b, p, x, id);
    if (p >= 0) p = fv(b, p, y, id);
    if (p < 0) return cv(id, d, p0, 2, x, y, undefined);
    if (p > arenaLimit) return enter(id, 2, true, self, x, y, undefined, null);
    A.pos = p;
    head |= F.HAS;
  }
  const t = clock[0];
  if (t === -1) return enter(id, 2, true, self, x, y, undefined, null);
  const a = seq + 1;
  const i = wp;
  words[i] = head;
  words[i + 1] = t;
  words[i + 2] = lastEnd = A.pos;
  wp = i + F.W;
  seq = a;
  stk[d] = a;
  fid[d] = id;
  runtime.d = hi = d + 1;
  return d;
}

export function m3(id: number, self: unknown, x: unknown, y: unknown, z: unknown): number {
  if (OUT_OF_LINE === true) outOfLine(0) + outOfLine(1) + outOfLine(2) + outOfLine(3) + outOfLine(4) + outOfLine(5) + outOfLine(6) + outOfLine(7) + outOfLine(8) + outOfLine(9) + outOfLine(10) + outOfLine(11) + outOfLine(12) + outOfLine(13) + outOfLine(14) + outOfLine(15) + outOfLine(16) + outOfLine(17) + outOfLine(18) + outOfLine(19) + outOfLine(20) + outOfLine(21) + outOfLine(22) + outOfLine(23) + outOfLine(24) + outOfLine(25) + outOfLine(26) + outOfLine(27) + outOfLine(28) + outOfLine(29) + outOfLine(30) + outOfLine(31) + outOfLine(32) + outOfLine(33) + outOfLine(34) + outOfLine(35) + outOfLine(36) + outOfLine(37) + outOfLine(38) + outOfLine(39);
  const d = runtime.d;
  if (d !== hi || ioFlag[0] !== 0 || wp >= lastFast || d >= stkCap || detour === true || (id < pkgLen && pkg[id] === 1)) return enter(id, 3, true, self, x, y, z, null);
  let head = (id << 5) | F.CALL;
  if (capture === true) {
    const b = A.buf;
    let p = lastEnd;
    b[p++] = 7;
    p = thisFast(b, p, self);
    if (p < 0) return enter(id, 3, true, self, x, y, z, null);
    const p0 = p;
    p = fv(b, p, x, id);
    if (p >= 0) p = fv(b, p, y, id);
    if (p >= 0) p = fv(b, p, z, id);
    if (p < 0) return cv(id, d, p0, 3, x, y, z);
    if (p > arenaLimit) return enter(id, 3, true, self, x, y, z, null);
    A.pos = p;
    head |= F.HAS;
  }
  const t = clock[0];
  if (t === -1) return enter(id, 3, true, self, x, y, z, null);
  const a = seq + 1;
  const i = wp;
  words[i] = head;
  words[i + 1] = t;
  words[i + 2] = lastEnd = A.pos;
  wp = i + F.W;
  seq = a;
  stk[d] = a;
  fid[d] = id;
  runtime.d = hi = d + 1;
  return d;
}

export function mn(id: number, self: unknown, ...xs: unknown[]): number {
  if (OUT_OF_LINE === true) outOfLine(0) + outOfLine(1) + outOfLine(2) + outOfLine(3) + outOfLine(4) + outOfLine(5) + outOfLine(6) + outOfLine(7) + outOfLine(8) + outOfLine(9) + outOfLine(10) + outOfLine(11) + outOfLine(12) + outOfLine(13) + outOfLine(14) + outOfLine(15) + outOfLine(16) + outOfLine(17) + outOfLine(18) + outOfLine(19) + outOfLine(20) + outOfLine(21) + outOfLine(22) + outOfLine(23) + outOfLine(24) + outOfLine(25) + outOfLine(26) + outOfLine(27) + outOfLine(28) + outOfLine(29) + outOfLine(30) + outOfLine(31) + outOfLine(32) + outOfLine(33) + outOfLine(34) + outOfLine(35) + outOfLine(36) + outOfLine(37) + outOfLine(38) + outOfLine(39);
  return enter(id, -1, true, self, undefined, undefined, undefined, xs);
}

/** The token of the entry a call probe just pushed, negated: the `$nr$a`
 * of async functions, generators and module top levels. */
export function t(d: number): number {
  return d >= SKIP_AT ? -SKIP : -stk[d];
}

// ---- scope (design-docs/probes.md, *Scope*) --------------------------------

/** What a call probe returns for a call it does not record (a package's
 * internal call under `--scope project`): `SKIP_AT` plus the program's
 * height at the call, above any real height, so the exit probes find no
 * activation (own() gives -1), while the `finally` that restores `__nr$.d`
 * to it leaves that height (sync() subtracts `SKIP_AT`): the frames of the
 * project it was called above, if an exception left them, are still seen
 * to have left. Small integers, so `runtime.d` stays one. `SKIP` is above
 * every such value; negated (t()), the token of a suspending function that
 * is not recorded. */
const SKIP_AT = 0x20000000;
const SKIP = 0x3fffffff;
/** pkg[id] === 1: function `id` belongs to a package (node_modules) that
 * `--scope project` records only at its boundary. Empty under `all`. */
var pkg = new Uint8Array(0);
/** pkg's length (a typed array's length is a getter a program can replace). */
var pkgLen = 0;

/** Whether function `id` is package code. Guarded by the length: a read
 * past the end of a typed array gives undefined, and one such read makes
 * V8 compare with a generic (called) strict equality ever after. */
function inPkg(id: number): boolean {
  return id < pkgLen && pkg[id] === 1;
}

/** Prologue of a package file under `--scope project`: marks its `count`
 * functions from `base` as package code; returns `base`. */
export function bp(base: number, count: number): number {
  const end = base + count;
  if (end > pkgLen) {
    // (no Math.max: the program's replacement would run here)
    const twice = pkgLen * 2 > 1024 ? pkgLen * 2 : 1024;
    const cap = end > twice ? end : twice;
    const next = new U8A(cap);
    TASet(next, pkg);
    pkg = next;
    pkgLen = cap;
  }
  for (let i = base; i < end; i++) pkg[i] = 1;
  return base;
}

// ---- exits ---------------------------------------------------------------

const PLAIN = 0;
const REDACT = 1;
const DROP = 2;

/** The general exit probe: records the return of activation `x` (a height,
 * or a negated token) with `v`, plain, redacted or dropped (a mode above),
 * and pops it. */
function leave(x: number, v: unknown, mode: number): unknown {
  if (encoding === true) {
    reentrant++;
    return v;
  }
  if (ioFlag[0] !== 0) ioBoundary();
  const i = own(x);
  if (i < 0) return v;
  const tok = stk[i];
  hi = runtime.d = i;
  if (mode === DROP) {
    if (capture) filterCounts[5]++;
    ev(RETURN, tok);
    return v;
  }
  let w = v;
  if (mode === REDACT) {
    if (capture) filterCounts[1]++;
    w = redactedMarker(v);
  }
  if (!capture) {
    ev(RETURN, tok);
  } else if (w === undefined) {
    ev(RETURN_UNDEFINED, tok);
  } else {
    if (attrOn) attrFor(fid[i]);
    valuesStart();
    val(w);
    evv(RETURN, tok);
  }
  return v;
}

/** r() when the value is one fv() does not write: through the encoder,
 * without leave()'s generic work (r's guard ruled out what it handles:
 * another height, a token, the io flag, the gate, the precise clock). */
function ro(x: number, v: unknown): unknown {
  hi = runtime.d = x;
  if (attrOn) attrFor(fid[x]);
  valuesStart();
  val(v);
  evv(RETURN, stk[x]);
  return v;
}

/** `return (__nr$v=e,__nr$.r($nr$a))`: records the return of the activation
 * `x` with the value in __nr$v, pops it, and returns that value. */
export function r(x: number): unknown {
  if (OUT_OF_LINE === true) outOfLine(0) + outOfLine(1) + outOfLine(2) + outOfLine(3) + outOfLine(4) + outOfLine(5) + outOfLine(6) + outOfLine(7) + outOfLine(8) + outOfLine(9) + outOfLine(10) + outOfLine(11) + outOfLine(12) + outOfLine(13) + outOfLine(14) + outOfLine(15) + outOfLine(16) + outOfLine(17) + outOfLine(18) + outOfLine(19) + outOfLine(20) + outOfLine(21) + outOfLine(22) + outOfLine(23) + outOfLine(24) + outOfLine(25) + outOfLine(26) + outOfLine(27) + outOfLine(28) + outOfLine(29) + outOfLine(30) + outOfLine(31) + outOfLine(32) + outOfLine(33) + outOfLine(34) + outOfLine(35) + outOfLine(36) + outOfLine(37) + outOfLine(38) + outOfLine(39);
  const v = __nr$v;
  __nr$v = undefined;
  if (x < 0 || x + 1 !== hi || runtime.d !== hi || ioFlag[0] !== 0 || wp >= lastFast || detour === true) return leave(x, v, PLAIN);
  let head = F.RETURN;
  if (capture === true) {
    if (v === undefined) head = F.RETURN_UNDEFINED;
    else {
      const p = fv(A.buf, lastEnd, v, -1 - x);
      if (p < 0) return ro(x, v);
      if (p > arenaLimit) return leave(x, v, PLAIN);
      A.pos = p;
      head = F.RETURN | F.HAS;
    }
  }
  const t = clock[0];
  if (t === -1) return leave(x, v, PLAIN);
  const i = wp;
  words[i] = head;
  words[i + 1] = t;
  words[i + 2] = lastEnd = A.pos;
  wp = i + F.W;
  hi = runtime.d = x;
  return v;
}

/** A return of `undefined` (`return;`, the end of a body). */
export function u(x: number): undefined {
  if (OUT_OF_LINE === true) outOfLine(0) + outOfLine(1) + outOfLine(2) + outOfLine(3) + outOfLine(4) + outOfLine(5) + outOfLine(6) + outOfLine(7) + outOfLine(8) + outOfLine(9) + outOfLine(10) + outOfLine(11) + outOfLine(12) + outOfLine(13) + outOfLine(14) + outOfLine(15) + outOfLine(16) + outOfLine(17) + outOfLine(18) + outOfLine(19) + outOfLine(20) + outOfLine(21) + outOfLine(22) + outOfLine(23) + outOfLine(24) + outOfLine(25) + outOfLine(26) + outOfLine(27) + outOfLine(28) + outOfLine(29) + outOfLine(30) + outOfLine(31) + outOfLine(32) + outOfLine(33) + outOfLine(34) + outOfLine(35) + outOfLine(36) + outOfLine(37) + outOfLine(38) + outOfLine(39);
  if (x < 0 || x + 1 !== hi || runtime.d !== hi || ioFlag[0] !== 0 || wp >= lastFast || detour === true) {
    leave(x, undefined, PLAIN);
    return undefined;
  }
  const t = clock[0];
  if (t === -1) {
    leave(x, undefined, PLAIN);
    return undefined;
  }
  const i = wp;
  words[i] = capture === true ? F.RETURN_UNDEFINED : F.RETURN;
  words[i + 1] = t;
  wp = i + F.W;
  hi = runtime.d = x;
  return undefined;
}

/** `finally` of an async function or generator: an activation still on
 * the stack here is being left by an exception (a return popped it); one
 * suspended is being left from its await or yield (a rejected await, a
 * generator closed or thrown into). */
export function f(x: number): void {
  if (OUT_OF_LINE === true) outOfLine(0) + outOfLine(1) + outOfLine(2) + outOfLine(3) + outOfLine(4) + outOfLine(5) + outOfLine(6) + outOfLine(7) + outOfLine(8) + outOfLine(9) + outOfLine(10) + outOfLine(11) + outOfLine(12) + outOfLine(13) + outOfLine(14) + outOfLine(15) + outOfLine(16) + outOfLine(17) + outOfLine(18) + outOfLine(19) + outOfLine(20) + outOfLine(21) + outOfLine(22) + outOfLine(23) + outOfLine(24) + outOfLine(25) + outOfLine(26) + outOfLine(27) + outOfLine(28) + outOfLine(29) + outOfLine(30) + outOfLine(31) + outOfLine(32) + outOfLine(33) + outOfLine(34) + outOfLine(35) + outOfLine(36) + outOfLine(37) + outOfLine(38) + outOfLine(39);
  if (encoding === true) return;
  if (ioFlag[0] !== 0) ioBoundary();
  const i = own(x);
  if (i >= 0) unwindTo(i);
}

/** A class field initializer `x = __nr$.fr(__nr$.m0(id,this),e)`: records
 * the field's return with `e` and pops it (a field has no `finally`). */
export function fr(x: number, v: unknown): unknown {
  if (OUT_OF_LINE === true) outOfLine(0) + outOfLine(1) + outOfLine(2) + outOfLine(3) + outOfLine(4) + outOfLine(5) + outOfLine(6) + outOfLine(7) + outOfLine(8) + outOfLine(9) + outOfLine(10) + outOfLine(11) + outOfLine(12) + outOfLine(13) + outOfLine(14) + outOfLine(15) + outOfLine(16) + outOfLine(17) + outOfLine(18) + outOfLine(19) + outOfLine(20) + outOfLine(21) + outOfLine(22) + outOfLine(23) + outOfLine(24) + outOfLine(25) + outOfLine(26) + outOfLine(27) + outOfLine(28) + outOfLine(29) + outOfLine(30) + outOfLine(31) + outOfLine(32) + outOfLine(33) + outOfLine(34) + outOfLine(35) + outOfLine(36) + outOfLine(37) + outOfLine(38) + outOfLine(39);
  return leave(x, v, PLAIN);
}

/** `x = __nr$.frt`${__nr$.m0(id,this)}${e}``: `fr` for a value that may
 * carry a function V8 names after the field, which a call's argument would
 * not be (instrument/inference.rs). */
export function frt(_strings: unknown, x: number, v: unknown): unknown {
  return fr(x, v);
}

// ---- suspensions ---------------------------------------------------------

function suspend(x: number, site: number, kind: number): void {
  if (encoding === true) {
    reentrant++;
    return;
  }
  if (ioFlag[0] !== 0) ioBoundary();
  const i = own(x);
  if (i < 0) return;
  const tok = stk[i];
  if (MapSize(suspended) > 100000) MapClear(suspended);
  MapSet(suspended, tok, fid[i]);
  ev((site << 5) | kind, tok);
  hi = runtime.d = i;
}

/** Pushes the activation `tok` back and records its resumption. */
function resumeEntry(tok: number, id: number): void {
  let d = runtime.d;
  if (d !== hi) d = sync(d);
  if (d === stkCap) grow();
  stk[d] = tok;
  fid[d] = id;
  runtime.d = hi = d + 1;
  valuesStart();
  writeVarint(tok);
  evv(RESUME, tok);
}

/** `(__nr$v=await (__nr$v=e,__nr$.aw($nr$a,site)),__nr$.rs($nr$a))`: the
 * awaited value, computed before any probe is called (nothing of ours
 * stays in the frame meanwhile), passes through __nr$v both ways. */
export function aw(x: number, site: number): unknown {
  if (OUT_OF_LINE === true) outOfLine(0) + outOfLine(1) + outOfLine(2) + outOfLine(3) + outOfLine(4) + outOfLine(5) + outOfLine(6) + outOfLine(7) + outOfLine(8) + outOfLine(9) + outOfLine(10) + outOfLine(11) + outOfLine(12) + outOfLine(13) + outOfLine(14) + outOfLine(15) + outOfLine(16) + outOfLine(17) + outOfLine(18) + outOfLine(19) + outOfLine(20) + outOfLine(21) + outOfLine(22) + outOfLine(23) + outOfLine(24) + outOfLine(25) + outOfLine(26) + outOfLine(27) + outOfLine(28) + outOfLine(29) + outOfLine(30) + outOfLine(31) + outOfLine(32) + outOfLine(33) + outOfLine(34) + outOfLine(35) + outOfLine(36) + outOfLine(37) + outOfLine(38) + outOfLine(39);
  const v = __nr$v;
  __nr$v = undefined;
  suspend(x, site, AWAIT);
  return v;
}

/** `yield` as `await` above. */
export function yd(x: number, site: number): unknown {
  if (OUT_OF_LINE === true) outOfLine(0) + outOfLine(1) + outOfLine(2) + outOfLine(3) + outOfLine(4) + outOfLine(5) + outOfLine(6) + outOfLine(7) + outOfLine(8) + outOfLine(9) + outOfLine(10) + outOfLine(11) + outOfLine(12) + outOfLine(13) + outOfLine(14) + outOfLine(15) + outOfLine(16) + outOfLine(17) + outOfLine(18) + outOfLine(19) + outOfLine(20) + outOfLine(21) + outOfLine(22) + outOfLine(23) + outOfLine(24) + outOfLine(25) + outOfLine(26) + outOfLine(27) + outOfLine(28) + outOfLine(29) + outOfLine(30) + outOfLine(31) + outOfLine(32) + outOfLine(33) + outOfLine(34) + outOfLine(35) + outOfLine(36) + outOfLine(37) + outOfLine(38) + outOfLine(39);
  const v = __nr$v;
  __nr$v = undefined;
  suspend(x, site, YIELD);
  return v;
}

/** The resumption after an await or yield; returns the value it resumed with. */
export function rs(x: number): unknown {
  if (OUT_OF_LINE === true) outOfLine(0) + outOfLine(1) + outOfLine(2) + outOfLine(3) + outOfLine(4) + outOfLine(5) + outOfLine(6) + outOfLine(7) + outOfLine(8) + outOfLine(9) + outOfLine(10) + outOfLine(11) + outOfLine(12) + outOfLine(13) + outOfLine(14) + outOfLine(15) + outOfLine(16) + outOfLine(17) + outOfLine(18) + outOfLine(19) + outOfLine(20) + outOfLine(21) + outOfLine(22) + outOfLine(23) + outOfLine(24) + outOfLine(25) + outOfLine(26) + outOfLine(27) + outOfLine(28) + outOfLine(29) + outOfLine(30) + outOfLine(31) + outOfLine(32) + outOfLine(33) + outOfLine(34) + outOfLine(35) + outOfLine(36) + outOfLine(37) + outOfLine(38) + outOfLine(39);
  const v = __nr$v;
  __nr$v = undefined;
  if (x === -SKIP) return v;
  if (encoding === true) {
    reentrant++;
    return v;
  }
  if (ioFlag[0] !== 0) ioBoundary();
  const tok = -x;
  const id: number | undefined = MapGet(suspended, tok);
  MapDelete(suspended, tok);
  resumeEntry(tok, id ?? 0);
  return v;
}

/** A `catch` clause in instrumented code received `e`. */
export function k(x: number, e?: unknown): void {
  if (OUT_OF_LINE === true) outOfLine(0) + outOfLine(1) + outOfLine(2) + outOfLine(3) + outOfLine(4) + outOfLine(5) + outOfLine(6) + outOfLine(7) + outOfLine(8) + outOfLine(9) + outOfLine(10) + outOfLine(11) + outOfLine(12) + outOfLine(13) + outOfLine(14) + outOfLine(15) + outOfLine(16) + outOfLine(17) + outOfLine(18) + outOfLine(19) + outOfLine(20) + outOfLine(21) + outOfLine(22) + outOfLine(23) + outOfLine(24) + outOfLine(25) + outOfLine(26) + outOfLine(27) + outOfLine(28) + outOfLine(29) + outOfLine(30) + outOfLine(31) + outOfLine(32) + outOfLine(33) + outOfLine(34) + outOfLine(35) + outOfLine(36) + outOfLine(37) + outOfLine(38) + outOfLine(39);
  if (encoding === true) {
    reentrant++;
    return;
  }
  if (ioFlag[0] !== 0) ioBoundary();
  const i = own(x);
  if (i >= 0) catchEvent(i, e);
}

/** A catch clause of a synchronous function records without a call of its
 * own (a call there enlarges the frame of every such function, issue 8):
 * `catch (e) {__nr$.Q=$nr$a,__nr$.e=e;` stores its activation's height
 * through this setter and the error in `e`; the next probe records the
 * catch (caught()). The setter sets `d` to -1, never `hi`, so that every
 * probe reconciles (a `finally` may lower it since, never to `hi`). A catch
 * already waiting (two catches with no probe between them, e.g. a
 * try/catch around a builtin in a loop, or a catch that rethrows into
 * another) is recorded first, with the throws since: its error is still in
 * `e`, which the instrumented code overwrites only after this returns. */
function catchAt(x: number): void {
  if (OUT_OF_LINE === true) outOfLine(0) + outOfLine(1) + outOfLine(2) + outOfLine(3) + outOfLine(4) + outOfLine(5) + outOfLine(6) + outOfLine(7) + outOfLine(8) + outOfLine(9) + outOfLine(10) + outOfLine(11) + outOfLine(12) + outOfLine(13) + outOfLine(14) + outOfLine(15) + outOfLine(16) + outOfLine(17) + outOfLine(18) + outOfLine(19) + outOfLine(20) + outOfLine(21) + outOfLine(22) + outOfLine(23) + outOfLine(24) + outOfLine(25) + outOfLine(26) + outOfLine(27) + outOfLine(28) + outOfLine(29) + outOfLine(30) + outOfLine(31) + outOfLine(32) + outOfLine(33) + outOfLine(34) + outOfLine(35) + outOfLine(36) + outOfLine(37) + outOfLine(38) + outOfLine(39);
  if (runtime.q !== -1) {
    if (ioFlag[0] !== 0) ioBoundary();
    sync(runtime.d);
  }
  // A package's activation that is not recorded: nothing to record for the
  // catch; the program's height is the one it was called at (the frames it
  // caught from are gone: the next probe records their throws). Setting -1
  // lost it: a project callback thrown through and caught there (express's
  // router) stayed open, and every later call became its child.
  if (x >= SKIP_AT) {
    runtime.d = x;
    return;
  }
  runtime.q = x;
  runtime.d = -1;
}
Object.defineProperty(runtime, 'Q', { set: catchAt, enumerable: false, configurable: false });

// ---- filters (design-docs/filters.md) ------------------------------------
// Variants the instrumenter emits for functions whose values a filter
// redacts or drops; `attr:` rules need no variant (the probes know each
// activation's function).

/** A redacted argument: the marker with the argument's type. */
export function xa(v: unknown): unknown {
  if (capture) filterCounts[0]++;
  return redactedMarker(v);
}

/** A dropped argument. */
export function xd(): unknown {
  if (capture) filterCounts[4]++;
  return DROPPED;
}

/** A redacted `this`. */
export function xt(v: unknown): unknown {
  if (capture) filterCounts[2]++;
  return redactedMarker(v);
}

/** A dropped `this` (the plain call probe is used): counts, returns `id`. */
export function dt(id: number): number {
  if (capture) filterCounts[6]++;
  return id;
}

/** Return with the value redacted (`mark` 4: `return;`, no value). */
export function rr(x: number, mark?: number): unknown {
  const v = mark === 4 ? undefined : __nr$v;
  __nr$v = undefined;
  return leave(x, v, REDACT);
}

/** Return with the value dropped: the return still closes its call. */
export function rx(x: number): unknown {
  const v = __nr$v;
  __nr$v = undefined;
  return leave(x, v, DROP);
}

/** Field initializer variants of `fr`. */
export function frr(x: number, v: unknown): unknown {
  return leave(x, v, REDACT);
}
export function frx(x: number, v: unknown): unknown {
  return leave(x, v, DROP);
}

/** `catch` variants: redacted, dropped. */
export function kr(x: number, e: unknown): void {
  k(x, redactedMarker(e));
}
export function kx(x: number): void {
  if (encoding === true) {
    reentrant++;
    return;
  }
  if (ioFlag[0] !== 0) ioBoundary();
  const i = own(x);
  if (i >= 0) ev(CATCH, stk[i]);
}

// Value patterns limited to type classes (`types = [...]`): the masks say
// which classes are redacted and dropped (bits as filter TYPES: undefined,
// null, boolean, number, bigint, string, symbol, function, object).

/** The type class bit of `v`. */
function typeBit(v: unknown): number {
  switch (typeof v) {
    case 'undefined':
      return 1;
    case 'boolean':
      return 4;
    case 'number':
      return 8;
    case 'bigint':
      return 16;
    case 'string':
      return 32;
    case 'symbol':
      return 64;
    case 'function':
      return 128;
    default:
      return v === null ? 2 : 256;
  }
}

/** An argument redacted or dropped by its type class. */
export function xv(v: unknown, redact: number, drop: number): unknown {
  const b = typeBit(v);
  if ((redact & b) !== 0) return xa(v);
  if ((drop & b) !== 0) return xd();
  return v;
}

/** The mode (PLAIN, REDACT, DROP) of a value by its type class. */
function typedMode(v: unknown, redact: number, drop: number): number {
  const b = typeBit(v);
  return (redact & b) !== 0 ? REDACT : (drop & b) !== 0 ? DROP : PLAIN;
}

/** `return (__nr$v=e,__nr$.rv($nr$a,redact,drop[,m]))`: the return redacted
 * or dropped by the value's type class (`attr:` rules of the activation's
 * function apply to what is kept). */
export function rv(x: number, redact: number, drop: number): unknown {
  const v = __nr$v;
  __nr$v = undefined;
  return leave(x, v, typedMode(v, redact, drop));
}

/** Field initializer variant of `rv`: `__nr$.frv(__nr$.m0(id,this),e,redact,drop)`. */
export function frv(x: number, v: unknown, redact: number, drop: number): unknown {
  return leave(x, v, typedMode(v, redact, drop));
}

/** Prologue of a module with `attr:` rules: registers its functions' sets. */
export function fa(base: number, spec: number | number[], count?: number): number {
  return registerAttr(base, spec, count);
}

/** The function of the innermost activation (0: none), e.g. the one an
 * uncaught exception came from, before uncaught() unwinds it. */
export function innermostFunction(): number {
  return hi > 0 ? fid[hi - 1] : 0;
}

/** The exception that ends the process: unwind everything, record it. */
export function uncaught(e: unknown): void {
  if (ioFlag[0] !== 0) ioBoundary();
  if (runtime.q !== -1) caught(runtime.d);
  unwindTo(0);
  valuesStart();
  encode(e, false);
  evv((UNCAUGHT << 5) | CATCH, 0);
}

/** Records the throws of activations left by an exception since the last
 * probe (the periodic tick: their time is then at most one tick late). */
export function settle(): void {
  const d = runtime.d;
  if (d < hi) sync(d);
}

/** Activations still open (for finalization). */
export function openCount(): number {
  return hi;
}

/** Closes every open activation as unwound (used at exit). */
export function unwindAll(): void {
  if (ioFlag[0] !== 0) ioBoundary();
  if (runtime.q !== -1) caught(runtime.d);
  unwindTo(0);
}

// ---- IO ------------------------------------------------------------------

/** Appends an OUTPUT event: `bytes[start, end)` of `stream` (0 stdin, 1
 * stdout, 2 stderr) with `flags`, ordered with the calls and returns of this
 * thread (it belongs to the top activation). Never runs the boundary hook. */
export function output(stream: number, flags: number, bytes: Uint8Array, start: number, end: number): void {
  const n = end - start;
  valuesStart();
  writeVarint(n);
  let p = arena.pos;
  const len = TALen(arena.buf);
  if (p + n > len) {
    let cap = len * 2;
    while (cap < p + n) cap *= 2;
    const nb = new U8A(cap);
    TASet(nb, TAView(arena.buf, 0, p));
    arena.buf = nb;
  }
  if (n > 0) {
    if (n < 64) {
      const b = arena.buf;
      for (let i = start; i < end; i++) b[p++] = bytes[i];
    } else {
      // A view made with the captured getters: `bytes` may be a Buffer,
      // whose subarray would look up its constructor's species.
      TASet(arena.buf, TAView(bytes, start, end), p);
      p += n;
    }
  }
  arena.pos = p;
  // evv: the arena may have grown past the headroom; flush if so.
  evv((((flags << 2) | stream) << 5) | OUTPUT, hi > 0 ? stk[hi - 1] : 0);
}

/** Appends a MARK event of `type` (design-docs/runs.md): `varint id`, then
 * `varint extra` when `extra >= 0`, then the first `n` (0-2) of `v1`, `v2`
 * through the value encoder (its bounds and redaction apply). Like output,
 * it belongs to the top activation and does not change the stack. */
export function mark(type: number, id: number, extra: number, n: number, v1: unknown, v2: unknown): void {
  if (encoding === true) {
    reentrant++;
    return;
  }
  if (ioFlag[0] !== 0) ioBoundary();
  // Activations left by an exception since the last probe end first, so the
  // mark lands in the activation that is really running.
  const d = runtime.d;
  if (d < hi) sync(d);
  if (attrOn) attrNone();
  valuesStart();
  writeVarint(id);
  if (extra >= 0) writeVarint(extra);
  if (n > 0) encode(v1, false);
  if (n > 1) encode(v2, false);
  evv((type << 5) | MARK, hi > 0 ? stk[hi - 1] : 0);
}

/** Installs the IO boundary hook: `flag[0] !== 0` makes the next call,
 * return or other boundary run `hook` first (which emits pending chunks with
 * `output` and clears the flag). `null` removes it. */
export function setIoHook(flag: Int32Array | null, hook: (() => void) | null): void {
  ioFlag = flag ?? new I32A(1);
  ioBoundary = hook ?? noop;
}

/** The clock the probes read (µs since the session started, mod 2^32). */
export function now(): number {
  return time();
}

/** Resets all state (a new recording in the same thread). */
export function reset(): void {
  if (sink === null) dropped[dropReason] += (wp / W) | 0;
  wp = 0;
  exactAt = lastFast = exactWp = 0;
  resetArena();
  lastEnd = 0;
  valuesOpen = false;
  seq = 0;
  // pkg stays: which functions are package code is a property of the code
  // loaded (marked once, by its file's prologue), and function ids last
  // the process; a module keeps the scope it was loaded under.
  hi = 0;
  runtime.d = 0;
  runtime.q = -1;
  runtime.e = undefined;
  suspended = new MapCtor<number, number>();
  words = new I32A(WORDS);
  stk = new F64A(4096);
  fid = new I32A(4096);
  stkCap = 4096;
}
