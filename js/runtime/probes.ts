// The probes that instrumented code calls (see design-docs/probes.md).
//
// Hot path rules: no allocation for an event without values, no closures,
// module-local state only, one native call per full buffer. Each event is two
// int32 words in `words`: head = kind | hasValues<<4 | payload<<5, the
// time in µs published by the native clock thread into `clock[0]`, and (for
// events with values) the arena position where the event's value bytes end.
import { arena, reserveArena, resetArena, writeValue, writeValueShallow, writeVarint } from './value-encoder';
import { attrFor, attrNone, attrOn, DROPPED, filterCounts, redactedMarker, registerAttr } from './value-encoder';
import { scrubString } from './secrets';


export const CALL = 1;
export const RETURN = 2;
export const THROW = 3;
export const AWAIT = 4;
export const RESUME = 5;
export const YIELD = 6;
export const CATCH = 7;
/** Bytes written or read: payload `stream | flags << 2`, blob `varint len, bytes`. */
export const OUTPUT = 8;
const HAS = 16;
/** A return of `undefined` with values captured: payload 1, no value bytes. */
const RETURN_UNDEFINED = (1 << 5) | 2;
/** CATCH payload meaning "reached the process as an uncaught exception". */
export const UNCAUGHT = 1;

const EVENTS_PER_BUFFER = 16384;
/** Words per event: head, time (µs), arena end (for events with values). */
const W = 3;
const WORDS = EVENTS_PER_BUFFER * W;
/** Headroom kept free in the arena after every event, so that the fast
 * paths below can write primitives without a capacity check. */
const ARENA_HEADROOM = 64 * 1024;
const ARENA_FLUSH = 1 << 20;

let words = new Int32Array(WORDS);
let wp = 0;
let clock = new Int32Array(1);
let seq = 0;
let stk = new Float64Array(4096);
let stkCap = 4096;
let sp = 0;
let lastClosed = -1;
let capture = true;
let maxEvents = Infinity;
let eventCount = 0;
let suspended = new Set<number>();
// IO capture (js/runtime/io-capture.ts): nonzero when output chunks wait to
// be emitted; checked once at every boundary before anything is written.
let ioFlag: Int32Array = new Int32Array(1);
let ioBoundary: () => void = noop;
function noop(): void {}
let strMax = 256;
const A = arena;
let arenaLimit = ARENA_FLUSH;

// Events not recorded, by reason (counted per buffer, or per event only
// while an activation window is set): max_events, recorder_error, stopped,
// inactive.
const dropped: Record<string, number> = { max_events: 0, recorder_error: 0, stopped: 0, inactive: 0 };
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
let gated = false;
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
}
let sink: Sink | null = null;

/** Connects the probes to a sink (the tracer) and the native clock. */
export function attach(s: Sink, clockBuffer: ArrayBuffer | null, captureValues: boolean, limit: number, stringBound = 256): void {
  sink = s;
  if (clockBuffer !== null) clock = new Int32Array(clockBuffer);
  capture = captureValues;
  maxEvents = limit > 0 ? limit : Infinity;
  eventCount = 0;
  dropReason = 'stopped';
  strMax = stringBound;
  reserveArena(ARENA_FLUSH + 2 * ARENA_HEADROOM);
  arenaLimit = Math.min(ARENA_FLUSH, A.buf.length - ARENA_HEADROOM);
}

/** Disconnects: the probes keep working but record nothing. */
export function detach(): void {
  flushEvents();
  const s = sink;
  if (s !== null && s.filterStats !== undefined) {
    const c = filterCounts;
    s.filterStats([c[0], c[1], c[2], c[3]], [c[4], c[5], c[6], c[7]]);
  }
  filterCounts.fill(0);
  sink = null;
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
  wp = 0;
  resetArena();
  gateMark = 0;
}

/** Events not recorded, by reason. */
export function droppedEvents(): Record<string, number> {
  const pending = sink === null ? (wp / W) | 0 : 0;
  return { ...dropped, [dropReason]: dropped[dropReason] + pending };
}

/** Sets up (or, with false, removes) the activation window. */
export function setActivation(on: boolean): void {
  gated = on;
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

/** Decides whether the event `head` (its values, if any, already in the
 * arena) is dropped. */
function gate(head: number): boolean {
  const k = head & 15;
  if (gateState === OPEN) {
    let tok: number;
    if (k === RETURN || k === THROW || k === AWAIT || k === YIELD) tok = stk[sp];
    else if (k === RESUME || k === CATCH) tok = sp > 0 ? stk[sp - 1] : 0;
    else {
      gateMark = A.pos;
      return false;
    }
    if (tok < actTok) {
      A.pos = gateMark;
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
      actTok = stk[sp - 1];
      gateMark = A.pos;
      return false;
    }
  }
  A.pos = gateMark;
  dropped.inactive++;
  return true;
}

/** Hands the buffered events to the sink. */
export function flushEvents(): void {
  if (wp === 0 && A.pos === 0) return;
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
    } else {
      s.submit(words, n, A.buf, A.pos);
    }
  } else if (s === null) {
    dropped[dropReason] += n;
  }
  wp = 0;
  resetArena();
  gateMark = 0;
  // A value larger than the headroom may have grown the arena.
  arenaLimit = Math.min(ARENA_FLUSH, A.buf.length - ARENA_HEADROOM);
}

function full(): void {
  if (sink === null) {
    dropBuffered();
    return;
  }
  flushEvents();
}

function grow(): void {
  const n = new Float64Array(stkCap * 2);
  n.set(stk);
  stk = n;
  stkCap *= 2;
}

/** Appends an event without values. */
function ev(head: number): void {
  if (gated && gate(head)) return;
  const i = wp;
  words[i] = head;
  words[i + 1] = clock[0];
  wp = i + W;
  if (wp === WORDS) full();
}

/** Appends an event whose values were just written to the arena. */
function evv(head: number): void {
  if (gated && gate(head | HAS)) return;
  const i = wp;
  words[i] = head | HAS;
  words[i + 1] = clock[0];
  words[i + 2] = A.pos;
  wp = i + W;
  if (wp === WORDS || A.pos > arenaLimit) full();
}

/** Writes a small int, undefined, null or a boolean at `p` of `b`; returns
 * the new position, or -1 (nothing written) for any other value. */
function fv(b: Uint8Array, p: number, v: unknown): number {
  if (typeof v === 'number') {
    if ((v | 0) !== v || (v === 0 && 1 / v < 0)) return -1;
    b[p++] = 4;
    let z = ((v << 1) ^ (v >> 31)) >>> 0;
    while (z >= 0x80) {
      b[p++] = (z & 0x7f) | 0x80;
      z >>>= 7;
    }
    b[p] = z;
    return p + 1;
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
  return -1;
}

/** Appends `v` at the arena position `p` (fast path, else the encoder);
 * returns the new position. */
function at(p: number, v: unknown): number {
  const q = fv(A.buf, p, v);
  if (q >= 0) return q;
  A.pos = p;
  val(v);
  return A.pos;
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
  writeValue(v);
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
    const c = s.charCodeAt(i);
    if (c >= 0x80) return false;
    b[p++] = c;
  }
  A.pos = p;
  return true;
}

function argc(n: number): void {
  A.buf[A.pos++] = n;
}

// ---- calls ---------------------------------------------------------------

export function c(id: number): number {
  if (ioFlag[0] !== 0) ioBoundary();
  const a = ++seq;
  if (sp === stkCap) grow();
  stk[sp++] = a;
  ev((id << 5) | CALL);
  return a;
}

export function c1(id: number, x: unknown): number {
  if (ioFlag[0] !== 0) ioBoundary();
  const a = ++seq;
  if (sp === stkCap) grow();
  stk[sp++] = a;
  if (capture) {
    if (attrOn) attrFor(id);
    let p = A.pos;
    A.buf[p++] = 2;
    A.pos = at(p, x);
    evv((id << 5) | CALL);
  } else ev((id << 5) | CALL);
  return a;
}

export function c2(id: number, x: unknown, y: unknown): number {
  if (ioFlag[0] !== 0) ioBoundary();
  const a = ++seq;
  if (sp === stkCap) grow();
  stk[sp++] = a;
  if (capture) {
    if (attrOn) attrFor(id);
    let p = A.pos;
    A.buf[p++] = 4;
    p = at(p, x);
    A.pos = at(p, y);
    evv((id << 5) | CALL);
  } else ev((id << 5) | CALL);
  return a;
}

export function c3(id: number, x: unknown, y: unknown, z: unknown): number {
  if (ioFlag[0] !== 0) ioBoundary();
  const a = ++seq;
  if (sp === stkCap) grow();
  stk[sp++] = a;
  if (capture) {
    if (attrOn) attrFor(id);
    let p = A.pos;
    A.buf[p++] = 6;
    p = at(p, x);
    p = at(p, y);
    A.pos = at(p, z);
    evv((id << 5) | CALL);
  } else ev((id << 5) | CALL);
  return a;
}

export function cn(id: number, ...xs: unknown[]): number {
  if (ioFlag[0] !== 0) ioBoundary();
  const a = ++seq;
  if (sp === stkCap) grow();
  stk[sp++] = a;
  if (capture) {
    if (attrOn) attrFor(id);
    writeVarint(xs.length * 2);
    for (let i = 0; i < xs.length; i++) val(xs[i]);
    evv((id << 5) | CALL);
  } else ev((id << 5) | CALL);
  return a;
}

export function m0(id: number, self: unknown): number {
  if (ioFlag[0] !== 0) ioBoundary();
  const a = ++seq;
  if (sp === stkCap) grow();
  stk[sp++] = a;
  if (capture) {
    if (attrOn) attrFor(id);
    argc(1);
    writeValueShallow(self);
    evv((id << 5) | CALL);
  } else ev((id << 5) | CALL);
  return a;
}

export function m1(id: number, self: unknown, x: unknown): number {
  if (ioFlag[0] !== 0) ioBoundary();
  const a = ++seq;
  if (sp === stkCap) grow();
  stk[sp++] = a;
  if (capture) {
    if (attrOn) attrFor(id);
    argc(3);
    writeValueShallow(self);
    val(x);
    evv((id << 5) | CALL);
  } else ev((id << 5) | CALL);
  return a;
}

export function m2(id: number, self: unknown, x: unknown, y: unknown): number {
  if (ioFlag[0] !== 0) ioBoundary();
  const a = ++seq;
  if (sp === stkCap) grow();
  stk[sp++] = a;
  if (capture) {
    if (attrOn) attrFor(id);
    argc(5);
    writeValueShallow(self);
    val(x);
    val(y);
    evv((id << 5) | CALL);
  } else ev((id << 5) | CALL);
  return a;
}

export function m3(id: number, self: unknown, x: unknown, y: unknown, z: unknown): number {
  if (ioFlag[0] !== 0) ioBoundary();
  const a = ++seq;
  if (sp === stkCap) grow();
  stk[sp++] = a;
  if (capture) {
    if (attrOn) attrFor(id);
    argc(7);
    writeValueShallow(self);
    val(x);
    val(y);
    val(z);
    evv((id << 5) | CALL);
  } else ev((id << 5) | CALL);
  return a;
}

export function mn(id: number, self: unknown, ...xs: unknown[]): number {
  if (ioFlag[0] !== 0) ioBoundary();
  const a = ++seq;
  if (sp === stkCap) grow();
  stk[sp++] = a;
  if (capture) {
    if (attrOn) attrFor(id);
    writeVarint(xs.length * 2 + 1);
    writeValueShallow(self);
    for (let i = 0; i < xs.length; i++) val(xs[i]);
    evv((id << 5) | CALL);
  } else ev((id << 5) | CALL);
  return a;
}

// ---- exits ---------------------------------------------------------------

/** Makes `tok` the top of the stack: unwinds what is above it, or records
 * the resumption of a suspended activation (an await that rejected). */
function settle(tok: number): void {
  let i = sp - 1;
  while (i >= 0 && stk[i] !== tok) i--;
  if (i >= 0) {
    while (sp - 1 > i) {
      sp--;
      ev(THROW);
    }
  } else if (suspended.delete(tok)) {
    resumeEvent(tok);
  } else {
    // Unknown to the stack (e.g. a generator closed while suspended); record
    // it as resumed so that the exit that follows stays balanced.
    resumeEvent(tok);
  }
}

/** Return with a value. */
export function r(tok: number, v: unknown): unknown {
  if (ioFlag[0] !== 0) ioBoundary();
  if (sp === 0 || stk[sp - 1] !== tok) settle(tok);
  sp--;
  lastClosed = tok;
  if (capture) {
    if (v === undefined) ev(RETURN_UNDEFINED);
    else {
      if (attrOn) attrNone();
      val(v);
      evv(RETURN);
    }
  } else ev(RETURN);
  return v;
}

/** Return from the top activation (class field initializers). */
export function rt(v: unknown): unknown {
  if (sp > 0) return r(stk[sp - 1], v);
  return v;
}

/** `finally` of every instrumented function: an activation still open here
 * is being left by an exception. */
export function f(tok: number): void {
  if (tok !== lastClosed) exitSlow(tok);
}

function exitSlow(tok: number): void {
  if (ioFlag[0] !== 0) ioBoundary();
  let i = sp - 1;
  while (i >= 0 && stk[i] !== tok) i--;
  if (i >= 0) {
    while (sp > i) {
      sp--;
      ev(THROW);
    }
  } else if (suspended.delete(tok)) {
    // An await rejected and the exception leaves the function.
    resumeEvent(tok);
    sp--;
    ev(THROW);
  }
  lastClosed = tok;
}

// ---- suspensions ---------------------------------------------------------

function suspend(tok: number, site: number, kind: number): void {
  if (ioFlag[0] !== 0) ioBoundary();
  if (sp === 0 || stk[sp - 1] !== tok) settle(tok);
  sp--;
  if (suspended.size > 100000) suspended.clear();
  suspended.add(tok);
  ev((site << 5) | kind);
}

function resumeEvent(tok: number): void {
  if (ioFlag[0] !== 0) ioBoundary();
  if (sp === stkCap) grow();
  stk[sp++] = tok;
  writeVarint(tok);
  evv(RESUME);
}

export function aw(tok: number, site: number, v: unknown): unknown {
  suspend(tok, site, AWAIT);
  return v;
}

export function yd(tok: number, site: number, v: unknown): unknown {
  suspend(tok, site, YIELD);
  return v;
}

export function rs(tok: number, v: unknown): unknown {
  suspended.delete(tok);
  resumeEvent(tok);
  return v;
}

/** A `catch` clause in instrumented code received `e`. */
export function k(tok: number, e?: unknown): void {
  if (ioFlag[0] !== 0) ioBoundary();
  if (sp === 0 || stk[sp - 1] !== tok) settle(tok);
  if (capture) {
    if (attrOn) attrNone();
    writeValue(e);
    evv(CATCH);
  } else ev(CATCH);
}

// ---- filters (design-docs/filters.md) ------------------------------------
// Variants the instrumenter emits for functions whose values a filter
// redacts or drops, or that have `attr:` rules; the plain probes above are
// untouched by filters except for one `attrOn` check.

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

/** Return with the value redacted. */
export function rr(tok: number, v: unknown): unknown {
  if (capture) filterCounts[1]++;
  r(tok, redactedMarker(v));
  return v;
}

/** Return with the value dropped: the return still closes its call. */
export function rx(tok: number, v: unknown): unknown {
  if (ioFlag[0] !== 0) ioBoundary();
  if (sp === 0 || stk[sp - 1] !== tok) settle(tok);
  sp--;
  lastClosed = tok;
  if (capture) filterCounts[5]++;
  ev(RETURN);
  return v;
}

/** Return encoded with the `attr:` rules of function `id`. */
export function ra(tok: number, v: unknown, id: number): unknown {
  if (ioFlag[0] !== 0) ioBoundary();
  if (sp === 0 || stk[sp - 1] !== tok) settle(tok);
  sp--;
  lastClosed = tok;
  if (capture) {
    if (v === undefined) ev(RETURN_UNDEFINED);
    else {
      attrFor(id);
      val(v);
      evv(RETURN);
    }
  } else ev(RETURN);
  return v;
}

/** Field initializer variants of `rt`. */
export function rtr(v: unknown): unknown {
  if (sp > 0) rr(stk[sp - 1], v);
  return v;
}
export function rtx(v: unknown): unknown {
  if (sp > 0) rx(stk[sp - 1], v);
  return v;
}
export function rta(v: unknown, id: number): unknown {
  if (sp > 0) ra(stk[sp - 1], v, id);
  return v;
}

/** `catch` variants: redacted, dropped, with `attr:` rules. */
export function kr(tok: number, e: unknown): void {
  k(tok, redactedMarker(e));
}
export function kx(tok: number): void {
  if (ioFlag[0] !== 0) ioBoundary();
  if (sp === 0 || stk[sp - 1] !== tok) settle(tok);
  ev(CATCH);
}
export function ka(tok: number, e: unknown, id: number): void {
  if (ioFlag[0] !== 0) ioBoundary();
  if (sp === 0 || stk[sp - 1] !== tok) settle(tok);
  if (capture) {
    attrFor(id);
    writeValue(e);
    evv(CATCH);
  } else ev(CATCH);
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

/** Return redacted or dropped by the value's type class; otherwise encoded
 * with the `attr:` rules of function `id`. */
export function rv(tok: number, redact: number, drop: number, v: unknown, id: number): unknown {
  const b = typeBit(v);
  if ((redact & b) !== 0) return rr(tok, v);
  if ((drop & b) !== 0) return rx(tok, v);
  return ra(tok, v, id);
}

/** Field initializer variant of `rv`. */
export function rtv(v: unknown, redact: number, drop: number, id: number): unknown {
  if (sp > 0) rv(stk[sp - 1], redact, drop, v, id);
  return v;
}

/** Prologue of a module with `attr:` rules: registers its functions' sets. */
export function fa(base: number, spec: number | number[], count?: number): number {
  return registerAttr(base, spec, count);
}

/** The exception that ends the process: unwind everything, record it. */
export function uncaught(e: unknown): void {
  if (ioFlag[0] !== 0) ioBoundary();
  while (sp > 0) {
    sp--;
    ev(THROW);
  }
  writeValue(e);
  evv((UNCAUGHT << 5) | CATCH);
}

/** Activations still open (for finalization). */
export function openCount(): number {
  return sp;
}

/** Closes every open activation as unwound (used at exit). */
export function unwindAll(): void {
  if (ioFlag[0] !== 0) ioBoundary();
  while (sp > 0) {
    sp--;
    ev(THROW);
  }
}

// ---- IO ------------------------------------------------------------------

/** Appends an OUTPUT event: `bytes[start, end)` of `stream` (0 stdin, 1
 * stdout, 2 stderr) with `flags`, ordered with the calls and returns of this
 * thread (it belongs to the top activation). Never runs the boundary hook. */
export function output(stream: number, flags: number, bytes: Uint8Array, start: number, end: number): void {
  const n = end - start;
  writeVarint(n);
  let p = arena.pos;
  if (p + n > arena.buf.length) {
    let cap = arena.buf.length * 2;
    while (cap < p + n) cap *= 2;
    const nb = new Uint8Array(cap);
    nb.set(arena.buf.subarray(0, p));
    arena.buf = nb;
  }
  if (n > 0) {
    if (n < 64) {
      const b = arena.buf;
      for (let i = start; i < end; i++) b[p++] = bytes[i];
    } else {
      arena.buf.set(bytes.subarray(start, end), p);
      p += n;
    }
  }
  arena.pos = p;
  // evv: the arena may have grown past the headroom; flush if so.
  evv((((flags << 2) | stream) << 5) | OUTPUT);
}

/** Installs the IO boundary hook: `flag[0] !== 0` makes the next call,
 * return or other boundary run `hook` first (which emits pending chunks with
 * `output` and clears the flag). `null` removes it. */
export function setIoHook(flag: Int32Array | null, hook: (() => void) | null): void {
  ioFlag = flag ?? new Int32Array(1);
  ioBoundary = hook ?? noop;
}

/** The clock the probes read (µs since the session started, mod 2^32). */
export function now(): number {
  return clock[0];
}

/** Resets all state (a new recording in the same thread). */
export function reset(): void {
  if (sink === null) dropped[dropReason] += (wp / W) | 0;
  wp = 0;
  resetArena();
  seq = 0;
  sp = 0;
  lastClosed = -1;
  suspended = new Set<number>();
  words = new Int32Array(WORDS);
  stk = new Float64Array(4096);
  stkCap = 4096;
}
