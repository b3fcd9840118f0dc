/**
 * Value encoder: the hot path that runs inside the recorded program.
 *
 * Encodes captured values into a byte arena in the binary form described in
 * `design-docs/values.md`. Reading a value never has a side effect: no
 * getter runs, no Proxy trap fires, no user `toString`/`toJSON`/`valueOf`/
 * `Symbol.iterator` is called. Every built-in that is called is captured at
 * module load (primordials style), so a later monkey-patch of a prototype
 * method cannot run during encoding.
 *
 * Written for the V8 JIT: all state is module-level, nothing is allocated
 * per primitive value, and the functions are monomorphic in their
 * arguments' shapes where possible.
 */

import * as util from 'util';
import * as v8 from 'v8';

import { getter, uncurry, type Uncurried } from './primordials';
import { envKeyAction, isEnvObject, isPairList, onSecretsChange, pairName, scrubNeed, scrubString, secretsGeneration } from './secrets';

// ---------------------------------------------------------------------------
// Captured built-ins (taken once at module load).
// ---------------------------------------------------------------------------

type AnyFn = (...args: any[]) => any;

const ObjectGetOwnPropertyDescriptor = Object.getOwnPropertyDescriptor;
const ObjectGetPrototypeOf = Object.getPrototypeOf;
const ObjectKeys = Object.keys;
const ObjectPrototype = Object.prototype;
const ObjectHasOwn = uncurry<boolean>(Object.prototype.hasOwnProperty);
const ArrayIsArray = Array.isArray;
const ArrayPrototype = Array.prototype;
const MathFloor = Math.floor;
const U8 = Uint8Array;

function optionalGetter<R>(proto: object, key: PropertyKey): Uncurried<R> | undefined {
  const d = ObjectGetOwnPropertyDescriptor(proto, key);
  return d !== undefined && typeof d.get === 'function' ? uncurry<R>(d.get) : undefined;
}

const types = util.types;
const isProxy = types.isProxy;
const isNativeError = types.isNativeError;
const isDate = types.isDate;
const isRegExp = types.isRegExp;
const isMap = types.isMap;
const isSet = types.isSet;
const isArrayBufferView = types.isArrayBufferView;
const isTypedArray = types.isTypedArray;
const isAnyArrayBuffer = types.isAnyArrayBuffer;
const isSharedArrayBuffer = types.isSharedArrayBuffer;
const isPromise = types.isPromise;
const isWeakMap = types.isWeakMap;
const isWeakSet = types.isWeakSet;
const isBoxedPrimitive = types.isBoxedPrimitive;
const isModuleNamespaceObject = types.isModuleNamespaceObject;
const isExternal = types.isExternal;

const MapPrototypeEntries = uncurry<Iterator<[unknown, unknown]>>(Map.prototype.entries);
const MapPrototypeGetSize = getter<number>(Map.prototype, 'size');
// The encoder's own maps are used through these (a program may replace
// Map.prototype's methods; review48).
const MapCtor = Map;
const MapGet = uncurry<any>(Map.prototype.get);
const MapSetEntry = uncurry<unknown>(Map.prototype.set);
const MapDelete = uncurry<boolean>(Map.prototype.delete);
const MapClear = uncurry<void>(Map.prototype.clear);
const MapIteratorNext = uncurry<IteratorResult<[unknown, unknown]>>(
  ObjectGetPrototypeOf(new Map().entries()).next,
);
const SetPrototypeValues = uncurry<Iterator<unknown>>(Set.prototype.values);
const SetPrototypeGetSize = getter<number>(Set.prototype, 'size');
const SetIteratorNext = uncurry<IteratorResult<unknown>>(
  ObjectGetPrototypeOf(new Set().values()).next,
);
const DatePrototypeGetTime = uncurry<number>(Date.prototype.getTime);
const SymbolPrototypeGetDescription = getter<string | undefined>(Symbol.prototype, 'description');
const BigIntPrototypeToString = uncurry<string>(BigInt.prototype.toString);
const StringPrototypeSlice = uncurry<string>(String.prototype.slice);
// (a program may replace String.prototype.charCodeAt: never called through `s.`)
const StringPrototypeCharCodeAt = uncurry<number>(String.prototype.charCodeAt);

const RegExpPrototypeGetSource = getter<string>(RegExp.prototype, 'source');
// `RegExp.prototype.flags` reads `this.global` etc. through ordinary [[Get]]
// (a subclass getter would run), so the flags are rebuilt from the
// individual built-in flag getters, which read the internal slot.
const RegExpFlagGetters: Array<Uncurried<boolean> | undefined> = [
  optionalGetter<boolean>(RegExp.prototype, 'hasIndices'),
  optionalGetter<boolean>(RegExp.prototype, 'global'),
  optionalGetter<boolean>(RegExp.prototype, 'ignoreCase'),
  optionalGetter<boolean>(RegExp.prototype, 'multiline'),
  optionalGetter<boolean>(RegExp.prototype, 'dotAll'),
  optionalGetter<boolean>(RegExp.prototype, 'unicode'),
  optionalGetter<boolean>(RegExp.prototype, 'unicodeSets'),
  optionalGetter<boolean>(RegExp.prototype, 'sticky'),
];
const RegExpFlagChars = 'dgimsuvy';

const TypedArrayPrototype = ObjectGetPrototypeOf(Uint8Array.prototype) as object;
const TypedArrayGetBuffer = getter<ArrayBufferLike>(TypedArrayPrototype, 'buffer');
const TypedArrayGetByteOffset = getter<number>(TypedArrayPrototype, 'byteOffset');
const TypedArrayGetByteLength = getter<number>(TypedArrayPrototype, 'byteLength');
const TypedArrayGetLength = getter<number>(TypedArrayPrototype, 'length');
const TypedArraySet = uncurry<void>(Uint8Array.prototype.set as AnyFn);
const TypedArrayCopyWithin = uncurry<Uint8Array>(Uint8Array.prototype.copyWithin as AnyFn);
const DataViewGetBuffer = getter<ArrayBufferLike>(DataView.prototype, 'buffer');
const DataViewGetByteOffset = getter<number>(DataView.prototype, 'byteOffset');
const DataViewGetByteLength = getter<number>(DataView.prototype, 'byteLength');
const ArrayBufferGetByteLength = getter<number>(ArrayBuffer.prototype, 'byteLength');
const SharedArrayBufferGetByteLength: Uncurried<number> | undefined =
  typeof SharedArrayBuffer === 'function'
    ? optionalGetter<number>(SharedArrayBuffer.prototype, 'byteLength')
    : undefined;

const textEncoder = new TextEncoder();
const TextEncoderEncodeInto = uncurry<{ read: number; written: number }>(
  TextEncoder.prototype.encodeInto as AnyFn,
);

const AsyncFunctionPrototype = ObjectGetPrototypeOf(async function () {}) as object;
const GeneratorFunctionPrototype = ObjectGetPrototypeOf(function* () {}) as object;
const AsyncGeneratorFunctionPrototype = ObjectGetPrototypeOf(async function* () {}) as object;
const WeakRefPrototype: object | null =
  typeof WeakRef === 'function' ? (WeakRef.prototype as object) : null;
const FinalizationRegistryPrototype: object | null =
  typeof FinalizationRegistry === 'function' ? (FinalizationRegistry.prototype as object) : null;

// ---------------------------------------------------------------------------
// Tags (design-docs/values.md).
// ---------------------------------------------------------------------------

const T_UNDEFINED = 0x00;
const T_NULL = 0x01;
const T_FALSE = 0x02;
const T_TRUE = 0x03;
const T_INT = 0x04;
const T_FLOAT = 0x05;
const T_STRING = 0x06;
const T_BIGINT = 0x07;
const T_SYMBOL = 0x08;
const T_FUNCTION = 0x09;
const T_ARRAY = 0x0a;
const T_OBJECT = 0x0b;
const T_MAP = 0x0c;
const T_SET = 0x0d;
const T_DATE = 0x0e;
const T_ERROR = 0x0f;
const T_HOLE = 0x10;
const T_ACCESSOR = 0x11;
const T_PROXY = 0x12;
const T_CIRCULAR = 0x13;
const T_BYTES = 0x14;
const T_TRUNCATED = 0x15;
const T_REDACTED = 0x16;
const T_REGEXP = 0x17;
const T_OPAQUE = 0x18;
const T_REF = 0x19;
const T_PATCH = 0x1a;

const FN_FUNCTION = 0;
const FN_CLASS = 1;
const FN_ASYNC = 2;
const FN_GENERATOR = 3;
const FN_ASYNC_GENERATOR = 4;
const FN_OTHER = 5;

// ---------------------------------------------------------------------------
// Module state.
// ---------------------------------------------------------------------------

const INITIAL_ARENA = 64 * 1024;
const MAX_DEPTH = 32;

/** The byte arena. `pos` is the write position; `buf` may be replaced by a
 *  larger copy when a write does not fit, so always re-read `arena.buf`. */
const arenaState: { buf: Uint8Array; pos: number } = { buf: new U8(INITIAL_ARENA), pos: 0 };
export { arenaState as arena };

// Module state is declared with `var` (a `let` read from a function costs a
// temporal-dead-zone check each time), and what is exported is exported by
// name at the end (TypeScript's CommonJS output turns each use of an
// `export const` into a load from `exports`): js/runtime/probes.ts does the same.

// Working copies of arenaState.buf / arenaState.pos, loaded and stored back by every
// exported entry point.
var buf: Uint8Array = arenaState.buf;
var pos = 0;
/** buf's length, read once per buffer: `buf.length` is a getter of
 *  %TypedArray%.prototype, which a program can replace (it would run inside
 *  the encoder). A typed array's length never changes (the arena's buffers
 *  are never resizable), so it is kept per buffer identity (loadArena). */
var bufCap = TypedArrayGetLength(buf);

var depthBound = 3;
var itemsBound = 32;
// Entries (elements, properties, map/set entries, bytes) one top-level
// value may spend in all its containers together; 0 = no limit.
var budgetBound = 1024;
var budget = 1024;
/** The budget of a value when there is no limit (NODEREC_VALUE_BUDGET=0). */
const NO_BUDGET_LIMIT = 2 ** 52;
/** The budget left when a container was last opened (not cut), or when a
 *  reference or unchanged patch entry that needs one entry more than it
 *  spends (Memo.need) was last written. An encoding that ends with exactly
 *  this much left opened a container after its last spent entry: met with
 *  only what it spent left, that container would be cut (budget20). */
var openB = -1;
var stringBound = 256;

// Ancestor stack of the containers currently being encoded.
var ancestors: unknown[] = new Array(4).fill(undefined);
var level = 0;
// Checks within one top-level value (values.md, "Checks within a value"):
// `tick` grows at every top-level value and every push on the ancestor
// stack; pushedAt[i] is the tick at which ancestors[i] was pushed, topTick
// the tick of the current top-level value. A memo found unchanged at tick t
// (Memo.chk) is unchanged again at a later check of the same top-level value
// when no container now on the stack was pushed after t: no program code
// runs inside one value, and the stack is then a subset of what it was.
var tick = 0;
var topTick = 0;
var pushedAt: number[] = new Array(4).fill(0);
// A top-level object's diff (before a patch): the checks of its entries run
// before it is pushed, and a patch pushes it with the value's tick (so that
// they stand for its entries, which it writes again: `pmask`) only when none
// of them reached the object itself, which is then an ancestor.
var selfObj: unknown = null;
var selfHit = false;
var selfOk = false;

/** Work done by the encoder, for the bounded-work guarantee (metrics):
 * [0] keys listed by own-key enumerations, [1] own properties read (one
 * descriptor each), [2] values encoded as references to an earlier encoding,
 * [3] of [1], those read with a plain read (trusted objects), [4] values
 * encoded as patches of an earlier encoding, [5] memo generations dropped
 * (the memo budget), [6] memo lookups (WeakMap, objects met). (Counters
 * of the checks themselves — containers checked, compiled checks, key
 * listings, prototype reads — were counted in a measuring build: commit
 * 78e46d2, branch enc14-slots; bench/README.md, thirteenth round.) */
const encoderWork = new Float64Array(7);

const f64 = new Float64Array(1);
const f64Bytes = new U8(f64.buffer);

/** Sets the bounds: container depth (default 3, clamped to 32), items per
 *  container (default 32) and string length in UTF-16 units (default 256). */
export function setBounds(depth: number, items: number, stringLen: number): void {
  // Readers reject nesting deeper than 40 values (values.md).
  depthBound = depth > 0 ? (depth < MAX_DEPTH ? depth | 0 : MAX_DEPTH) : 0;
  itemsBound = items > 0 ? items | 0 : 0;
  stringBound = stringLen > 0 ? stringLen | 0 : 0;
  // Filled by loops: Array.prototype.fill is the program's to replace.
  ancestors = new Array(depthBound + 1);
  pushedAt = new Array(depthBound + 1);
  for (let i = 0; i <= depthBound; i++) {
    ancestors[i] = undefined;
    pushedAt[i] = 0;
  }
  level = 0;
  epoch++;
  planGen++;
  // (a class name longer than the string bound is cut)
  clearThisCache();
  thisCacheUpdate();
}

/** Resets the arena write position to 0. */
export function resetArena(): void {
  arenaState.pos = 0;
  epoch++;
  clearThisCache();
}

// ---------------------------------------------------------------------------
// Low-level writers (operate on the working copies buf/pos).
// ---------------------------------------------------------------------------

function grow(need: number): void {
  let cap = bufCap * 2;
  if (cap < 1024) cap = 1024;
  while (cap < pos + need) cap *= 2;
  const nb = new U8(cap);
  TypedArraySet(nb, buf);
  buf = nb;
  bufCap = cap;
}

/** Takes arenaState's buffer and position as the working copies. */
function loadArena(): void {
  const b = arenaState.buf;
  if (b !== buf) {
    buf = b;
    bufCap = TypedArrayGetLength(b);
  }
  pos = arenaState.pos;
}

function ensure(need: number): void {
  if (pos + need > bufCap) grow(need);
}

/** Writes an unsigned LEB128 varint; capacity must already be ensured. */
function putVarint(n: number): void {
  while (n > 0xffffffff) {
    buf[pos++] = (n & 0x7f) | 0x80;
    n = MathFloor(n / 128);
  }
  while (n > 0x7f) {
    buf[pos++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  buf[pos++] = n;
}

function varintSize(n: number): number {
  let s = 1;
  while (n > 0x7f) {
    n = MathFloor(n / 128);
    s++;
  }
  return s;
}

function putTag(t: number): void {
  if (pos >= bufCap) grow(1);
  buf[pos++] = t;
}

function putVarintChecked(n: number): void {
  if (pos + 10 > bufCap) grow(10);
  putVarint(n);
}

/** Writes a `str` body: byteLen, fullLen (UTF-16 units), UTF-8 bytes of
 *  the kept prefix (at most `stringBound` units, never half a pair). */
// Long strings go through Buffer#utf8Write (native, allocation-free) on a
// Buffer view of the arena, kept in step with `buf`.
const BufferUtf8Write = uncurry<number>((Buffer.prototype as unknown as { utf8Write: AnyFn }).utf8Write);
const BufferFrom = Buffer.from;
var bufView: Buffer | null = null;
var bufViewOf: Uint8Array | null = null;
const LONG_STRING = 24;

function putStr(s: string): void {
  const len = s.length;
  const keep = len < stringBound ? len : stringBound;
  if (keep > LONG_STRING) {
    putStrLong(s, len, keep);
    return;
  }
  ensure(20 + keep * 3);
  const start = pos;
  putVarint(keep);
  putVarint(len);
  const b = buf;
  let p = pos;
  for (let i = 0; i < keep; i++) {
    const c = StringPrototypeCharCodeAt(s, i);
    if (c >= 0x80) {
      pos = start;
      putStrSlow(s, len, keep);
      return;
    }
    b[p++] = c;
  }
  pos = p;
}

/** A whole `str` value (tag, lengths, bytes) in one pass, the bytes of
 *  putTag(T_STRING) + putStr(scrubbed(s)), for a string of at most
 *  LONG_STRING characters, kept whole, all ASCII, that scrubString leaves
 *  as it is (secrets.ts, scrubNeed: decided on its length and first
 *  character, and on the characters seen while copying); false, with
 *  nothing written, for any other. */
function putShortStr(s: string): boolean {
  const len = s.length;
  if (len > LONG_STRING || len > stringBound) return false;
  const need = scrubNeed(len, len > 0 ? StringPrototypeCharCodeAt(s, 0) : 0);
  if (need === 2) return false;
  if (pos + len + 3 > bufCap) grow(len + 3);
  const b = buf;
  let p = pos;
  // (one-byte varints: len <= LONG_STRING < 0x80)
  b[p] = T_STRING;
  b[p + 1] = len;
  b[p + 2] = len;
  p += 3;
  if (need === 0) {
    for (let i = 0; i < len; i++) {
      const c = StringPrototypeCharCodeAt(s, i);
      if (c >= 0x80) return false;
      b[p++] = c;
    }
  } else {
    for (let i = 0; i < len; i++) {
      const c = StringPrototypeCharCodeAt(s, i);
      // '@', '=', newline: scrubString decides.
      if (c >= 0x80 || c === 0x40 || c === 0x3d || c === 0x0a) return false;
      b[p++] = c;
    }
  }
  pos = p;
  return true;
}

function putStrLong(s: string, len: number, keep: number): void {
  if (keep < len) {
    const hi = StringPrototypeCharCodeAt(s, keep - 1);
    if (hi >= 0xd800 && hi <= 0xdbff) {
      const lo = StringPrototypeCharCodeAt(s, keep);
      if (lo >= 0xdc00 && lo <= 0xdfff) keep--;
    }
  }
  const part = keep < len ? StringPrototypeSlice(s, 0, keep) : s;
  const maxBytes = keep * 3;
  // The byte length is written as a fixed-width (padded) varint, so the
  // bytes can be written in place first.
  const w = varintSize(maxBytes);
  ensure(w + 10 + maxBytes);
  if (bufViewOf !== buf) {
    // (the captured getters: a program may replace the prototype's)
    bufView = BufferFrom(TypedArrayGetBuffer(buf), TypedArrayGetByteOffset(buf), TypedArrayGetByteLength(buf));
    bufViewOf = buf;
  }
  const lenAt = pos;
  const dataAt = lenAt + w + varintSize(len);
  const written = BufferUtf8Write(bufView, part, dataAt, maxBytes);
  let v = written;
  for (let i = 0; i < w - 1; i++) {
    buf[lenAt + i] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[lenAt + w - 1] = v & 0x7f;
  pos = lenAt + w;
  putVarint(len);
  pos = dataAt + written;
}

function putStrSlow(s: string, len: number, keep: number): void {
  if (keep < len && keep > 0) {
    const hi = StringPrototypeCharCodeAt(s, keep - 1);
    if (hi >= 0xd800 && hi <= 0xdbff) {
      const lo = StringPrototypeCharCodeAt(s, keep);
      if (lo >= 0xdc00 && lo <= 0xdfff) keep--;
    }
  }
  const part = keep < len ? StringPrototypeSlice(s, 0, keep) : s;
  const maxBytes = keep * 3;
  const hmax = varintSize(maxBytes) + varintSize(len);
  ensure(hmax + maxBytes);
  const dataAt = pos + hmax;
  const written = TextEncoderEncodeInto(
    textEncoder,
    part,
    u8View(buf, dataAt, dataAt + maxBytes),
  ).written;
  putVarint(written);
  putVarint(len);
  if (pos !== dataAt) TypedArrayCopyWithin(buf, pos, dataAt, dataAt + written);
  pos += written;
}

function putNumber(x: number): void {
  if ((x | 0) === x && (x !== 0 || 1 / x > 0)) {
    ensure(6);
    buf[pos++] = T_INT;
    putVarint(((x << 1) ^ (x >> 31)) >>> 0);
  } else {
    ensure(9);
    buf[pos++] = T_FLOAT;
    putF64(x);
  }
}

/** Writes 8 bytes float64 LE; capacity must already be ensured. */
function putF64(x: number): void {
  f64[0] = x;
  const b = buf;
  const bytes = f64Bytes;
  b[pos] = bytes[0];
  b[pos + 1] = bytes[1];
  b[pos + 2] = bytes[2];
  b[pos + 3] = bytes[3];
  b[pos + 4] = bytes[4];
  b[pos + 5] = bytes[5];
  b[pos + 6] = bytes[6];
  b[pos + 7] = bytes[7];
  pos += 8;
}

// ---------------------------------------------------------------------------
// Side-effect-free reads.
// ---------------------------------------------------------------------------

/** True when a descriptor (as returned by getOwnPropertyDescriptor) is an
 *  accessor descriptor. `in` (no getter can run: a descriptor is an ordinary
 *  object whose prototype is Object.prototype) answers false fast for a data
 *  descriptor; the own-property check settles the rest, so a polluted
 *  `Object.prototype.get` cannot interfere. */
function isAccessorDescriptor(d: PropertyDescriptor): boolean {
  return 'get' in d && ObjectHasOwn(d, 'get');
}

/** Class name: the `name` of the first `constructor` data property found on
 *  the prototype chain (starting at `proto`), both read as data properties.
 *  "null" for a null prototype, "Object" when nothing usable is found. */
// Class names by prototype: the lookup below walks descriptors, which is the
// most expensive part of encoding a small object. A prototype whose
// `constructor` changes later keeps its first name (a rare, harmless skew).
const classNames = new WeakMap<object, string>();
const WeakMapGet = uncurry<string | undefined>(WeakMap.prototype.get);
const WeakMapSet = uncurry<unknown>(WeakMap.prototype.set);

function className(proto: object | null): string {
  if (proto === null) return 'null';
  if (proto === ObjectPrototype) return 'Object';
  if (proto === ArrayPrototype) return 'Array';
  const known = WeakMapGet(classNames, proto);
  if (known !== undefined) return known;
  const name = lookupClassName(proto);
  WeakMapSet(classNames, proto, name);
  return name;
}

function lookupClassName(proto: object): string {
  let p: object | null = proto;
  for (let i = 0; i < 64 && p !== null; i++) {
    if (isProxy(p)) return 'Object';
    const d = ObjectGetOwnPropertyDescriptor(p, 'constructor');
    if (d !== undefined) {
      if (isAccessorDescriptor(d)) return 'Object';
      const ctor: unknown = d.value;
      if (typeof ctor !== 'function' || isProxy(ctor)) return 'Object';
      const nd = ObjectGetOwnPropertyDescriptor(ctor, 'name');
      if (nd === undefined || isAccessorDescriptor(nd)) return 'Object';
      const name: unknown = nd.value;
      return typeof name === 'string' ? name : 'Object';
    }
    p = ObjectGetPrototypeOf(p);
  }
  return 'Object';
}

function findAncestor(o: unknown): number {
  // (every container a check reaches comes here: see selfObj)
  if (o === selfObj) selfHit = true;
  for (let i = level - 1; i >= 0; i--) {
    if (ancestors[i] === o) return level - i;
  }
  return 0;
}

// ---------------------------------------------------------------------------
// Value encoding.
// ---------------------------------------------------------------------------

// Long strings recur: a serializer's output, a parser's input passed to
// every call. Looking for secrets in them (secrets.ts, scrubString: a few
// scans, and regular expressions when a string has a newline, `=` or `@`)
// cost 8 % of the object-heavy workload; the answers for strings of at
// least SCRUB_MIN characters are kept, per attr: context (an `attr:` rule
// decides which header lines are redacted), for one generation of the
// secrets settings, within SCRUB_CHARS characters of keys.
const SCRUB_MIN = 256;
const SCRUB_CHARS = 1 << 22;
var scrubMaps: (Map<string, string> | undefined)[] = [];
var scrubGen = -1;
var scrubChars = 0;
function scrubbed(s: string): string {
  if (s.length < SCRUB_MIN) return scrubString(s);
  const gen = secretsGeneration();
  if (gen !== scrubGen) {
    scrubMaps = [];
    scrubChars = 0;
    scrubGen = gen;
  }
  let m = scrubMaps[curAttr];
  if (m === undefined) {
    m = new MapCtor<string, string>();
    scrubMaps[curAttr] = m;
  }
  let r: string | undefined = MapGet(m, s);
  if (r === undefined) {
    r = scrubString(s);
    scrubChars += s.length;
    if (scrubChars > SCRUB_CHARS) {
      scrubMaps = [];
      scrubChars = s.length;
      m = new MapCtor<string, string>();
      scrubMaps[curAttr] = m;
    }
    MapSetEntry(m, s, r);
  }
  return r;
}

function enc(v: unknown): void {
  // The common kinds first: `typeof v === '…'` compiles to a type check,
  // where a switch on typeof makes the string (a builtin call per value).
  if (typeof v === 'object') {
    if (v === null) putTag(T_NULL);
    else encObj(v);
    return;
  }
  if (typeof v === 'string') {
    if (putShortStr(v)) return;
    putTag(T_STRING);
    putStr(scrubbed(v));
    return;
  }
  if (typeof v === 'number') {
    putNumber(v);
    return;
  }
  if (typeof v === 'boolean') {
    putTag(v ? T_TRUE : T_FALSE);
    return;
  }
  if (v === undefined) {
    putTag(T_UNDEFINED);
    return;
  }
  switch (typeof v) {
    case 'bigint':
      putTag(T_BIGINT);
      putStr(BigIntPrototypeToString(v, 10));
      return;
    case 'symbol': {
      putTag(T_SYMBOL);
      const desc = SymbolPrototypeGetDescription(v);
      if (typeof desc === 'string') {
        putTag(T_STRING);
        putStr(desc);
      } else {
        putTag(T_UNDEFINED);
      }
      return;
    }
    case 'function':
      if (isProxy(v)) putTag(T_PROXY);
      else encFunction(v as AnyFn);
      return;
  }
}

/** An object (not null): met before (a memo), or for the first time. */
function encObj(v: object): void {
  const m = MemoGet(memos, v);
  encoderWork[6]++;
  if (m !== undefined && m !== SEEN) encKnown(v, m);
  // (a shape witness's map: a plain object of its plan's keys, see encWitnessed)
  else if (m === undefined && witnessOn && lastWit !== null && haveSameMap!(v, lastWit.wit!)) encWitnessed(v, lastWit);
  // (an object marked SEEN went through encObject: not a Proxy)
  else if (m === undefined && isProxy(v)) putTag(T_PROXY);
  else {
    seenFlag = m === SEEN;
    encObject(v);
  }
}

/** The functions encoded since the memos were last dropped for one (untrust). */
var fnSeen = new WeakSet<object>();
const FnSeenHas = uncurry<boolean>(WeakSet.prototype.has);
const FnSeenAdd = uncurry<WeakSet<object>>(WeakSet.prototype.add);

function encFunction(fn: AnyFn): void {
  FnSeenAdd(fnSeen, fn);
  putTag(T_FUNCTION);
  const nd = ObjectGetOwnPropertyDescriptor(fn, 'name');
  let name = '';
  if (nd !== undefined && !isAccessorDescriptor(nd) && typeof nd.value === 'string') {
    name = nd.value;
    // A writable name (a static class field `name`, or one a definer made
    // writable) changes by plain assignment, which no wrapper sees: what
    // holds this function is not referred back to.
    if (nd.writable === true) okAcc = false;
  }
  putStr(name);
  let kind = FN_OTHER;
  const proto = ObjectGetPrototypeOf(fn);
  if (proto === AsyncFunctionPrototype) kind = FN_ASYNC;
  else if (proto === GeneratorFunctionPrototype) kind = FN_GENERATOR;
  else if (proto === AsyncGeneratorFunctionPrototype) kind = FN_ASYNC_GENERATOR;
  else {
    // Ordinary functions have a writable own `prototype`; class constructors
    // (and built-in constructors) a non-writable one; arrows, methods and
    // bound functions none.
    const pd = ObjectGetOwnPropertyDescriptor(fn, 'prototype');
    if (pd !== undefined && !isAccessorDescriptor(pd)) {
      kind = pd.writable === true ? FN_FUNCTION : FN_CLASS;
    }
  }
  putTag(kind);
}

function encObject(o: object): void {
  if (ArrayIsArray(o)) {
    encArray(o as unknown[], undefined);
    return;
  }
  const proto = ObjectGetPrototypeOf(o) as object | null;
  if (proto === ObjectPrototype) {
    encPlain(o, 'Object', proto, undefined);
    return;
  }
  if (proto === RedactedPrototype) {
    putTag(T_REDACTED);
    putStr((o as Redacted).type);
    return;
  }
  if (proto === null) {
    if (isModuleNamespaceObject(o)) encOpaque('Module');
    else encPlain(o, 'null', proto, undefined);
    return;
  }
  if (isNativeError(o)) {
    okAcc = false; // the message can change
    encError(o, proto);
  } else if (isDate(o)) {
    okAcc = false;
    ensure(9);
    buf[pos++] = T_DATE;
    putF64(DatePrototypeGetTime(o));
  } else if (isMap(o)) {
    encMap(o, undefined);
  } else if (isSet(o)) {
    encSet(o, undefined);
  } else if (isRegExp(o)) {
    encRegExp(o);
  } else if (isArrayBufferView(o) || isAnyArrayBuffer(o)) {
    okAcc = false;
    encBytes(o, proto);
  } else if (
    isPromise(o) ||
    isWeakMap(o) ||
    isWeakSet(o) ||
    isBoxedPrimitive(o) ||
    proto === WeakRefPrototype ||
    proto === FinalizationRegistryPrototype
  ) {
    encOpaque(className(proto));
  } else if (isModuleNamespaceObject(o)) {
    encOpaque('Module');
  } else if (isExternal(o)) {
    encOpaque('External');
  } else {
    encPlain(o, className(proto), proto, undefined);
  }
}

/** An object met before (it has a memo): its kind is known, so the type
 *  checks are skipped (internal slots never change; a memo is only made for
 *  arrays and ordinary objects, never for a Proxy). */
function encKnown(o: object, m: Memo): void {
  const kind = m.kind;
  if (kind === K_ARRAY) {
    encArray(o as unknown[], m);
    return;
  }
  if (kind === K_MAP) {
    encMap(o, m);
    return;
  }
  if (kind === K_SET) {
    encSet(o, m);
    return;
  }
  // The prototype is read by encPlain only when it writes the object in
  // full or cut (a reference or a patch follows a check or a diff, which
  // compares it with the memo's: see knownProto).
  encPlain(o, '', UNREAD, m);
}

/** The prototype of `o` (met before, memo `m`) when encPlain was given
 *  UNREAD, and its class name in `knownCls`; null after writing `o` through
 *  encObject when its prototype was swapped for one the full
 *  classification treats apart (then `o` is written). */
var knownCls = '';
function knownProto(o: object, m: Memo): object | null | typeof UNREAD {
  const proto = ObjectGetPrototypeOf(o) as object | null;
  if (proto === RedactedPrototype || proto === WeakRefPrototype || proto === FinalizationRegistryPrototype) {
    encObject(o);
    return UNREAD;
  }
  knownCls = proto === m.proto && m.cls !== '' ? m.cls : className(proto);
  return proto;
}

function encOpaque(cls: string): void {
  putTag(T_OPAQUE);
  putStr(cls);
}

/** Entries kept of a container with `total` of them: the items bound, and
 *  what is left of the value's budget (which it then spends). */
function take(total: number): number {
  let n = total < itemsBound ? total : itemsBound;
  if (n > budget) n = budget;
  budget -= n;
  return n;
}

/** Emits `circular` or `truncated` when the container cannot be descended
 *  into; returns true when it did. `proto`: the prototype of `o` when the
 *  caller read it, else UNREAD. */
function cutContainer(o: object, cls: string | null, proto: object | null): boolean {
  const d = findAncestor(o);
  if (d !== 0) {
    putTag(T_CIRCULAR);
    putVarintChecked(d);
    if (level - d < circLow) circLow = level - d;
    return true;
  }
  if (level >= depthBound || budget <= 0) {
    const p = proto !== UNREAD ? proto : (ObjectGetPrototypeOf(o) as object | null);
    putTag(T_TRUNCATED);
    putStr(cls !== null ? cls : className(p));
    if (level >= depthBound) deepAcc = true;
    // The class name written is a function of the prototype, which can
    // change: the parent's memo keeps it (see truncMark). (Cut by the
    // budget: the encodings around it end with none left, Memo.exact.)
    if (level > 0) {
      verOut = TRUNC_VER;
      memOut = truncMark(p);
    }
    return true;
  }
  openB = budget;
  return false;
}

// A container cut by the depth bound is written `truncated` with the class
// name of its prototype; its parent's memo records it with version
// TRUNC_VER and, in its memo slot, a marker of that prototype (`proto`) made
// when `protoMoves` had the value in its `spent`. An existing object's
// prototype changes only through Object.setPrototypeOf,
// Reflect.setPrototypeOf and the Object.prototype.__proto__ setter, which
// js/runtime/definers.ts wraps: each call that may change one bumps
// protoMoves (protoMoved). So a check finds the child unchanged by identity
// while protoMoves has not moved since the marker was made, and compares
// its prototype with the marker's after (one runtime call: 4.5 % of the
// object-heavy workload's instructions when done at every check,
// decisions.md 32). Without the wrappers (setProtoWatch(false)) the markers
// never match protoMoves: the prototype is compared at every check.
const TRUNC_VER = -1;
/** Prototype changes that the wrapped setters may have made (0 before any). */
var protoMoves = 0;
/** The wrapped setters report every change (this realm's are wrapped). */
var protoWatch = false;
/** The markers made since protoMoves last moved (at marksAt), per prototype. */
var truncMarks = new WeakMap<object, Memo>();
var marksAt = -1;
var objMark: Memo | null = null;
var arrMark: Memo | null = null;
var nullMark: Memo | null = null;

/** Called by the wrapped prototype setters (js/runtime/definers.ts) after a
 *  call that may have changed an existing object's prototype. */
export function protoMoved(): void {
  protoMoves++;
}

/** The prototype setters of this realm are wrapped (on) or not (off: every
 *  check of a truncated container compares its prototype). */
export function setProtoWatch(on: boolean): void {
  protoWatch = on;
  protoMoves++;
}

function newMark(proto: object | null): Memo {
  const mk = new Memo(0, 0);
  // (never a version: readArray's shortcut does not take it for a memo)
  mk.ver = -2;
  mk.proto = proto;
  mk.spent = protoWatch ? protoMoves : -1;
  return mk;
}

/** The marker of prototype `proto` for the parent's memo slot. */
function truncMark(proto: object | null): Memo {
  if (marksAt !== protoMoves) {
    truncMarks = new WeakMap<object, Memo>();
    objMark = arrMark = nullMark = null;
    marksAt = protoMoves;
  }
  if (proto === ObjectPrototype) return objMark !== null ? objMark : (objMark = newMark(proto));
  if (proto === ArrayPrototype) return arrMark !== null ? arrMark : (arrMark = newMark(proto));
  if (proto === null) return nullMark !== null ? nullMark : (nullMark = newMark(proto));
  let mk = MemoGet(truncMarks, proto);
  if (mk === undefined) {
    mk = newMark(proto);
    MemoSet(truncMarks, proto, mk);
  }
  return mk;
}

// ---------------------------------------------------------------------------
// Memos: what the encoder remembers of an array or ordinary object it wrote
// (design-docs/values.md, "References"): where its encoding starts in the
// arena, the identities it read (keys, values, accessor flags, and the
// versions of the containers below it), and the context the encoding
// depended on (remaining depth, budget spent, attr rule set). When the same
// object comes again in the same arena batch and everything it showed is
// still identical, a `ref` to the earlier bytes is written instead.
// A memo also caches the key list of a large object (more than BIG_KEYS own
// keys), so that capturing it costs the value bounds, not its size.
// ---------------------------------------------------------------------------

const K_OBJECT = 1;
const K_ARRAY = 2;
const K_MAP = 3;
const K_SET = 4;
/** Objects with more own keys than this keep their key list in their memo. */
const BIG_KEYS = 256;

class Memo {
  /** Arena batch of `off`; a memo of an older batch is never referred to. */
  epoch = 0;
  /** Arena offset of the encoding's tag byte. */
  off = 0;
  /** Changes at every new encoding of the object. */
  ver = 0;
  /** The encoding can be referred to (nothing mutable that is not checked). */
  ok = false;
  proto: object | null = null;
  cls = '';
  /** depthBound - level when encoded; container height; cut by depth inside. */
  rem = 0;
  height = 0;
  deep = false;
  /** Budget entries the encoding spent, and attr redactions/drops inside it. */
  spent = 0;
  /** The budget left it needs to be written the same: `spent`, or one more
   *  when it opens a container after its last spent entry (an empty one, or
   *  a reference that needs one more: with nothing left there it is cut). */
  need = 0;
  /** It ended with no budget left (so it may have been cut by the budget):
   *  written the same only with exactly `need` (= spent) left (budget20). */
  exact = false;
  red = 0;
  drp = 0;
  attr = 0;
  /** Own enumerable keys (objects) or length (arrays) when encoded. */
  total = 0;
  /** Entries scanned: keys[0..scan), vals[0..scan), vers[0..scan). */
  scan = 0;
  keys: string[];
  vals: unknown[];
  vers: number[];
  /** The memo of each container entry (vals[i]) at version vers[i], so a
   *  check reaches it without a WeakMap lookup (null when vers[i] is 0).
   *  An object's memo is never replaced once it has a version. */
  mems: (Memo | null)[];
  /** Key list cache of a large object: a prefix, the count, and how many
   *  more captures may use it before the keys are listed again. */
  klist: string[] | null = null;
  ktotal = 0;
  kcredit = 0;
  /** Checks that found it changed in a row, and encodings left before the
   *  next check (an object that changes at every capture is not checked at
   *  every capture: checking costs the same reads as encoding). */
  misses = 0;
  skip = 0;
  /** The tick at which a check last found it unchanged (see checkedNow). */
  chk = 0;
  /** Verified to hold only own data properties (every own enumerable key
   *  read with a descriptor, none an accessor) and not given to a definer
   *  since (js/runtime/definers.ts): read with plain reads. */
  trusted = false;
  /** Trusted for the kept keys only (values.md, "Trusted objects"): it was
   *  verified when cut by the items bound, so only the keys named
   *  keys[0..scan), at those places, are known to be data properties (a cut
   *  key was never read: it may be an accessor, and a deletion can bring it
   *  into the kept prefix). */
  tcut = false;
  /** The plan of the keys when they were all scanned (objects), else null. */
  plan: Plan | null = null;
  /** The plan of all the keys when a prefix of them was scanned (cut by the
   *  items bound or the budget), else null: its kept-prefix readers
   *  (Plan.pcheck, pdiff) serve a trusted memo that scanned Plan.pn keys. */
  cplan: Plan | null = null;
  /** Arena offset of the last full encoding when later ones may be written
   *  as a `patch` of it (values.md, "Patches"), else -1; and the entries
   *  written in patches since (bit i: entry i; pmaskHi bit i: entry 30 + i). */
  pbase = -1;
  pmask = 0;
  pmaskHi = 0;
  /** Entries of the last encoding that cannot be checked (always patched). */
  vmask = 0;
  vmaskHi = 0;
  /** Per entry of that encoding (or of the patch that wrote it since):
   *  budget spent; height * 8 + 4 if it needs one more entry than it
   *  spent (Memo.need) + 2 if cut by depth inside + 1 if referable;
   *  redactions + drops * 2^24 inside. Allocated when first used (a
   *  shared empty array until then: never written). */
  esp: number[] = NO_NUMS;
  eh: number[] = NO_NUMS;
  ered: number[] = NO_NUMS;
  /** `n`: the entries it is expected to hold (its arrays are made that
   *  long: grown one by one, a V8 array's store would be 17 or more). */
  /** K_OBJECT, K_ARRAY, K_MAP or K_SET. (A field with a number from its
   *  definition: a parameter property is defined as undefined first, and the
   *  field then holds any value, never known to be a small integer.) */
  kind = 0;
  /** The next memo of the same object, for another context (ctxMemo): the
   *  WeakMap holds the first; each keeps its own encoding and version. */
  alt: Memo | null = null;
  constructor(kind: number, n: number) {
    this.kind = kind;
    this.keys = kind === K_OBJECT ? new ArrayCtor(n) : NO_KEYS;
    this.vals = new ArrayCtor(n);
    this.vers = new ArrayCtor(n);
    this.mems = new ArrayCtor(n);
  }
}

/** Makes a memo of a dropped generation new again for another object (its
 *  arrays are kept: they were cleared when the generation was dropped). */
function renewMemo(m: Memo, kind: number): void {
  m.kind = kind;
  if (kind === K_OBJECT && m.keys === NO_KEYS) m.keys = [];
  m.epoch = 0;
  m.off = 0;
  m.ver = 0;
  m.ok = false;
  m.proto = null;
  m.cls = '';
  m.rem = 0;
  m.height = 0;
  m.deep = false;
  m.spent = 0;
  m.need = 0;
  m.exact = false;
  m.red = 0;
  m.drp = 0;
  m.attr = 0;
  m.total = 0;
  m.scan = 0;
  m.klist = null;
  m.ktotal = 0;
  m.kcredit = 0;
  m.misses = 0;
  m.skip = 0;
  m.chk = 0;
  m.trusted = false;
  m.tcut = false;
  m.plan = null;
  m.cplan = null;
  m.pbase = -1;
  m.pmask = 0;
  m.pmaskHi = 0;
  m.vmask = 0;
  m.vmaskHi = 0;
  m.alt = null;
}

/** What a memo of a dropped generation holds of the program is let go
 *  (the memo itself waits in the pool). */
function clearMemo(m: Memo): void {
  m.proto = null;
  m.plan = null;
  m.cplan = null;
  m.klist = null;
  m.alt = null;
  const vals = m.vals, mems = m.mems;
  for (let i = 0; i < vals.length; i++) vals[i] = undefined;
  for (let i = 0; i < mems.length; i++) mems[i] = null;
}
/** Shared empty arrays of memos (never written: see Memo.esp, keys). */
const NO_NUMS: number[] = [];
const NO_KEYS: string[] = [];
const ArrayCtor = Array;
/** Estimated bytes of a memo: the object, its arrays' headers and the
 *  table entry, and per slot of its arrays. */
const MEMO_BYTES = 600;
const SLOT_BYTES = 8;

/** The memo of an object met once: the second encoding makes a real memo,
 *  so objects recorded once cost no memo. */
const SEEN = new Memo(0, 0);
/** Set by enc() for encObject's container encoders: the object was met before. */
var seenFlag = false;

/** Whether to check `m` now (see Memo.misses). An array, map or set whose
 *  size differs from its memo's is not checked and counts no miss: that
 *  change costs nothing to find, and skipping the checks after it wrote
 *  unchanged containers in full (js-yaml's `events`, grown by one, was
 *  written in full at the next capture too, each event in it diffed:
 *  107 k full encodings of 182 k in yaml.load; decisions.md 40). */
function worthChecking(m: Memo): boolean {
  if (m.skip === 0) return true;
  m.skip--;
  return false;
}

function checked(m: Memo, same: boolean): boolean {
  if (same) m.misses = 0;
  else {
    if (m.misses < 6) m.misses++;
    m.skip = (1 << m.misses) - 1;
  }
  return same;
}

/** The memos and seen marks of the current generation (see newGeneration). */
var memos = new WeakMap<object, Memo>();
const MemoGet = uncurry<Memo | undefined>(WeakMap.prototype.get);
const MemoSet = uncurry<unknown>(WeakMap.prototype.set);
// slice and subarray look up the constructor's Symbol.species (a getter the
// program may define: review48); the encoder makes its views and copies
// with the constructor captured at start instead.
/** A view of bytes [a, e) of `b` (no species lookup). */
function u8View(b: Uint8Array, a: number, e: number): Uint8Array {
  return new U8(TypedArrayGetBuffer(b), TypedArrayGetByteOffset(b) + a, e - a);
}
/** A copy of bytes [a, e) of `b` (no species lookup). */
function TypedArraySlice(b: Uint8Array, a: number, e: number): Uint8Array {
  const r = new U8(e - a);
  TypedArraySet(r, u8View(b, a, e));
  return r;
}
/** A copy of elements [a, e) of the encoder's own array `xs`. */
function ArrayPrototypeSlice(xs: string[], a: number, e: number): string[] {
  const r: string[] = [];
  for (let i = a; i < e; i++) r[i - a] = xs[i];
  return r;
}
const ArrayPrototypeUnshift = uncurry<number>(Array.prototype.unshift);
const ArrayPrototypePop = uncurry<unknown>(Array.prototype.pop);

// The memory of references is bounded (values.md, "Memo budget"): each
// seen mark and memo adds its estimated size to memoUsed, and when that
// passes memoBudget the next top-level value starts a new generation: the
// WeakMap of memos and marks is dropped whole (no memo outlives it, and no
// memo of a generation points to one of another: a memo's children are
// memos met while it was encoded) and nothing written before is referred to
// (epoch). Losing a memo only costs a full encoding later.
/** Estimated bytes of a seen mark (an ephemeron table entry) and of a memo
 *  (the object, its arrays and the table entry) plus per scanned entry. */
const SEEN_BYTES = 48;
var memoBudget = 512 << 10;
var memoUsed = 0;
/** Arrays given to a definer (untrust) and not verified since: kept apart
 *  from the memos, which a new generation drops (a fresh array is read with
 *  plain reads). */
const definedArrays = new WeakSet<object>();
const DefinedHas = uncurry<boolean>(WeakSet.prototype.has);
const DefinedAdd = uncurry<unknown>(WeakSet.prototype.add);
const DefinedDelete = uncurry<boolean>(WeakSet.prototype.delete);
var definedAny = false;

/** Bytes of memos and seen marks (estimated) after which a new generation
 *  starts (NODEREC_VALUE_MEMO_KIB; 0: at every top-level value). */
export function setMemoBudget(bytes: number): void {
  memoBudget = bytes > 0 ? bytes : 0;
}

/** The memos made so far: those of the current generation are
 *  pool[0..poolNext), the rest wait to be used again (a memo that became
 *  garbage at every new generation would fill V8's old space, which the
 *  garbage collector then lets grow to several times the live heap). */
const pool: Memo[] = [];
var poolNext = 0;

/** Drops every memo and seen mark (at a top-level value, none in use). */
function newGeneration(): void {
  for (let i = 0; i < poolNext; i++) clearMemo(pool[i]);
  poolNext = 0;
  memos = new WeakMap<object, Memo>();
  memoUsed = 0;
  epoch++;
  encoderWork[5]++;
}

/** Marks `o` as met once. */
function putSeen(o: object): void {
  MemoSet(memos, o, SEEN);
  memoUsed += SEEN_BYTES;
}

/** A new memo of `kind` for `o`, expected to hold `n` entries. */
function putMemo(o: object, kind: number, n: number): Memo {
  const m = poolMemo(kind, n);
  MemoSet(memos, o, m);
  return m;
}

/** A memo of the current generation, new or from the pool. */
function poolMemo(kind: number, n: number): Memo {
  let m: Memo;
  if (poolNext < pool.length) {
    m = pool[poolNext++];
    renewMemo(m, kind);
  } else {
    m = new Memo(kind, n);
    pool[poolNext++] = m;
  }
  memoUsed += MEMO_BYTES + (kind === K_OBJECT ? 4 : 3) * SLOT_BYTES * n;
  return m;
}

// One object, several contexts (ctx21, decisions.md 46). An encoding depends
// on the context it is written in: the depth left, the budget left, the
// attr: rule set. When the object's memo cannot be referred to here for one
// of those, encoding it again into the same memo gave the memo a new version,
// and every container that holds the object's earlier encoding (recorded
// with the older version) then failed its check, although nothing changed:
// js-yaml's schema holds its mapping type in full, and nodeTags holds the
// same type where the budget cuts it, so the schema (and the state around
// it) was written again at every capture. So an object keeps up to
// CTX_MEMOS memos, one per context met, chained from the one in the WeakMap
// (Memo.alt). Each memo is exactly what it was: the record of its own last
// encoding, with its own version, checks and patches; a parent records the
// memo it got (memOut). Nothing is assumed about one memo from another: the
// only fact about the object itself that memos keep, trust (Memo.trusted),
// is taken from every memo of the chain by untrust.
const CTX_MEMOS = 4;

/** The memo of `o` to use here when its first memo `m` cannot be referred
 *  to: the first of the chain that can, else one whose version no container
 *  holds (not referable, or of an older batch), else a new one while the
 *  chain is short, else the last one (encoded again, as without a chain). */
function ctxMemo(m: Memo): Memo {
  let c: Memo | null = m.alt;
  if (c === null && (!m.ok || m.epoch !== epoch)) return m;
  let n = 1;
  for (; c !== null; c = c.alt) {
    n++;
    if (canRef(c)) return c;
  }
  let last = m;
  for (c = m; c !== null; c = c.alt) {
    if (!c.ok || c.epoch !== epoch) return c;
    last = c;
  }
  if (n >= CTX_MEMOS) return last;
  const a = poolMemo(m.kind, m.kind === K_MAP ? 2 * m.scan : m.scan);
  last.alt = a;
  return a;
}

/** Whether array `a` (no memo) was given to a definer and not verified since. */
function definedArray(a: object): boolean {
  return definedAny && DefinedHas(definedArrays, a);
}

var refsOn = true;
/** Bumped whenever arena bytes are discarded (flush, rewind, bounds change). */
var epoch = 1;
var memoVer = 0;
// Accumulators of the container being encoded (saved and restored around
// each container on the JS stack):
var okAcc = true; // everything written inside can be referred to
var deepAcc = false; // a container inside was cut by the depth bound
var hAcc = 0; // height of the highest container inside
var circLow = 1 << 30; // lowest ancestor index a `circular` inside points to
// version of the container just written, 0 if none usable (also after a
// container written without a memo: a version left by a container inside
// it would be recorded against it)
var verOut = 0;
var memOut: Memo | null = null; // its memo (set with verOut when verOut != 0)

/** Identities standing for what is not a data value. */
const ACC: object[] = [{}, {}, {}, {}];
const HOLE_ID = {};
const MISSING_ID = {};
const DROPPED_ID = {};

/** References on (default) or off (`NODEREC_VALUE_REFS=0`). */
// What the secrets settings answer is part of every encoding a memo refers to.
onSecretsChange(() => {
  epoch++;
});

export function setRefs(on: boolean): void {
  refsOn = on;
  epoch++;
  clearThisCache();
  thisCacheUpdate();
}

/** Test hook: appends `v` encoded in full (no reference written, no memo
 *  updated), leaving the references of other values as they are. */
export function writeValueFull(v: unknown, shallow = false): void {
  const saved = refsOn;
  refsOn = false;
  try {
    if (shallow) writeValueShallow(v);
    else encTop(v);
  } finally {
    refsOn = saved;
  }
}

/** Discards arena bytes from `p` on (the probes drop an event): what was
 *  written there can no longer be referred to. */
export function rewindArena(p: number): void {
  arenaState.pos = p;
  epoch++;
}

function putRef(m: Memo): void {
  ensure(11);
  buf[pos++] = T_REF;
  // The offset from the start of the batch (not a distance back): the same
  // object referred to many times gives the same bytes, which compress.
  putVarint(m.off);
  refAccount(m);
}

/** What writing the memo's encoding again (a ref or a patch, which spends
 *  and contains what the encoding did) tells the enclosing container. */
function refAccount(m: Memo): void {
  budget -= m.spent;
  if (m.need !== m.spent) openB = budget;
  if (m.height > hAcc) hAcc = m.height;
  if (m.deep) deepAcc = true;
  filterCounts[3] += m.red;
  filterCounts[7] += m.drp;
  verOut = m.ver;
  memOut = m;
  encoderWork[2]++;
}

/** The memo's encoding fits the current context. */
function canRef(m: Memo): boolean {
  if (!m.ok || m.epoch !== epoch || m.attr !== curAttr || budget < m.need || (m.exact && budget !== m.need)) return false;
  const rem = depthBound - level;
  return m.deep ? rem === m.rem : rem >= m.height;
}

/** One entry read now (descriptor `d`) shows what the memo saw (`id`,
 *  and for a container below, version `ver`). */
function sameEntry(d: PropertyDescriptor | undefined, id: unknown, ver: number, cm: Memo | null): boolean {
  if (d === undefined) return id === HOLE_ID || id === MISSING_ID;
  if (isAccessorDescriptor(d)) return id === ACC[(d.get !== undefined ? 1 : 0) | (d.set !== undefined ? 2 : 0)];
  return sameValue(d.value, id, ver, cm);
}

/** A data value read now is what the memo saw. */
function sameValue(v: unknown, id: unknown, ver: number, cm: Memo | null): boolean {
  // NaN is the one value not === to itself.
  if (v !== id) return v !== v && id !== id;
  if (typeof v === 'object') {
    if (v === null) return true;
    // A container that is now an ancestor would be written `circular`.
    if (findAncestor(v) !== 0) return false;
    if (ver === 0) return true;
    // Cut by the depth bound: written as the class name of its prototype,
    // the one cm marks unless a prototype may have changed since.
    if (ver === TRUNC_VER) return cm!.spent === protoMoves || ObjectGetPrototypeOf(v) === cm!.proto;
    // cm is v's memo (the one that wrote version ver): it is still at that
    // version when v was not encoded again since.
    if (cm === null || cm.ver !== ver) return false;
    const kind = cm.kind;
    if (kind === K_ARRAY) return sameArray(v as unknown[], cm);
    if (kind === K_OBJECT) {
      // (found unchanged earlier in this value: its prototype is not read)
      if (checkedNow(cm)) return true;
      return samePlain(v, cm, UNREAD);
    }
    return kind === K_MAP ? sameMap(v, cm) : sameSet(v, cm);
  }
  // -0 and 0 are === but encode differently.
  return v !== 0 || 1 / (v as number) === 1 / (id as number);
}

/** Memo `m` was found unchanged earlier in this top-level value and no
 *  container on the stack now was pushed since (see `tick`): so it still is. */
function checkedNow(m: Memo): boolean {
  return m.chk >= (level > 0 ? pushedAt[level - 1] : topTick);
}

function sameArray(a: unknown[], m: Memo): boolean {
  if (checkedNow(m)) return true;
  if (!readArray(a, m)) return false;
  m.chk = tick;
  return true;
}

function readArray(a: unknown[], m: Memo): boolean {
  if (a.length !== m.total) return false;
  const n = m.scan;
  encoderWork[1] += n;
  const vals = m.vals;
  if (trustOn && m.trusted && trustedArray(a)) {
    encoderWork[3] += n;
    const vers = m.vers, mems = m.mems;
    // checkedNow's tick, the same for every element: no container is
    // pushed while an array is checked.
    const since = level > 0 ? pushedAt[level - 1] : topTick;
    const r = rdepth;
    let out: unknown[] | null = null;
    let idx: Int32Array | null = null;
    // Properties the compiled checks below read (counted once, at the end).
    let read = 0;
    let same = true;
    for (let i = 0; i < n; i++) {
      const v = a[i];
      // undefined may be a hole now: the descriptor tells.
      if (v === undefined) {
        if (!sameEntry(ObjectGetOwnPropertyDescriptor(a, i), vals[i], vers[i], mems[i])) {
          same = false;
          break;
        }
      } else if (typeof v === 'object' && v === vals[i] && v !== null) {
        // An element object (js-yaml keeps its events so): its compiled
        // check is called from here, as sameKnown and runCheck would
        // (without their calls and per-object bookkeeping).
        const cm = mems[i];
        if (cm === null || cm.ver !== vers[i] || findAncestor(v) !== 0) {
          if (!sameValue(v, vals[i], vers[i], cm)) {
            same = false;
            break;
          }
          continue;
        }
        // (found unchanged earlier in this value: checkedNow)
        if (cm.chk >= since) continue;
        const p = cm.kind === K_OBJECT ? cm.plan : null;
        const check = p !== null ? p.check : null;
        if (check !== null && cm.trusted === true && cm.klist === null) {
          if (out === null) {
            if (r === routs.length) {
              routs[r] = [];
              ridxs[r] = new Int32Array(PLAN_KEYS);
            }
            out = routs[r];
            idx = ridxs[r];
          }
          const c = check(v, ObjectKeys, out, idx!, cm.vals, cm.proto);
          if (c !== 0 && (c < 0 || !sameListed(out, idx!, c, cm, r))) {
            same = false;
            break;
          }
          cm.chk = tick;
          read += cm.scan;
        } else if (!sameKnown(v, cm)) {
          same = false;
          break;
        }
      } else if (!sameValue(v, vals[i], vers[i], mems[i])) {
        same = false;
        break;
      }
    }
    if (read !== 0) {
      encoderWork[0] += read;
      encoderWork[1] += read;
      encoderWork[3] += read;
    }
    return same;
  }
  for (let i = 0; i < n; i++) {
    if (!sameEntry(ObjectGetOwnPropertyDescriptor(a, i), vals[i], m.vers[i], m.mems[i])) return false;
  }
  return true;
}

/** Per nesting of compiled checks (a check's sameValue can run the check
 *  of a container inside): the values a check found needing sameValue, and
 *  their indexes (see Check). */
const routs: unknown[][] = [];
const ridxs: Int32Array[] = [];
var rdepth = 0;

/** Runs compiled check `check` of `o` against its memo `m`: compares the
 *  values it listed with sameValue (one call site for every plan). */
function runCheck(check: Check, o: object, m: Memo): boolean {
  const r = rdepth;
  if (r === routs.length) {
    routs[r] = [];
    ridxs[r] = new Int32Array(PLAN_KEYS);
  }
  const out = routs[r], idx = ridxs[r];
  const c = check(o, ObjectKeys, out, idx, m.vals, m.proto);
  if (c <= 0) return c === 0;
  return sameListed(out, idx, c, m, r);
}

/** Compares the `c` values a compiled check of an object with memo `m`
 *  listed (in routs[r], their indexes in ridxs[r]) with sameValue. */
function sameListed(out: unknown[], idx: Int32Array, c: number, m: Memo, r: number): boolean {
  const vals = m.vals, vers = m.vers, mems = m.mems;
  rdepth = r + 1;
  for (let j = 0; j < c; j++) {
    const i = idx[j];
    if (!sameValue(out[i], vals[i], vers[i], mems[i])) {
      rdepth = r;
      return false;
    }
  }
  rdepth = r;
  return true;
}

/** A container that is no ancestor, with its memo `cm` at the version the
 *  parent's memo saw: unchanged since (sameValue without its first checks). */
function sameKnown(v: object, cm: Memo): boolean {
  const kind = cm.kind;
  if (kind === K_OBJECT) {
    const p = cm.plan;
    if (p !== null && p.check !== null && trustOn && cm.trusted && cm.klist === null) {
      if (checkedNow(cm)) return true;
      const n = cm.scan;
      encoderWork[0] += n;
      encoderWork[1] += n;
      encoderWork[3] += n;
      // (the check compares the prototype: see compileReaders)
      if (!runCheck(p.check, v, cm)) return false;
      cm.chk = tick;
      return true;
    }
    if (checkedNow(cm)) return true;
    return samePlain(v, cm, UNREAD);
  }
  if (kind === K_ARRAY) return sameArray(v as unknown[], cm);
  return kind === K_MAP ? sameMap(v, cm) : sameSet(v, cm);
}

/** `proto` is the prototype of `o`, read by the caller, or UNREAD. */
function samePlain(o: object, m: Memo, proto: object | null): boolean {
  if (checkedNow(m)) return true;
  if (!readPlain(o, m, proto)) return false;
  m.chk = tick;
  return true;
}

function readPlain(o: object, m: Memo, proto: object | null): boolean {
  if (proto !== m.proto && proto !== UNREAD) return false;
  const p = m.plan;
  const cp = m.cplan;
  // A memo with a plan scanned all the keys (scan = total); one cut by the
  // items bound, trusted up to its kept keys, has its keys' plan in cplan,
  // whose prefix check compares the count and the kept names, reads no
  // other key.
  const check = p !== null ? p.check : cp !== null && cp.pn === m.scan ? cp.pcheck : null;
  if (check !== null && trustOn && m.trusted && m.klist === null) {
    // Every key is an own data property (listed by the check, verified
    // before).
    const n = m.scan;
    encoderWork[0] += n;
    encoderWork[1] += n;
    encoderWork[3] += n;
    return runCheck(check, o, m);
  }
  if (proto === UNREAD && ObjectGetPrototypeOf(o) !== m.proto) return false;
  const keys = ownKeys(o, m);
  if (keysTotal !== m.total) return false;
  const n = m.scan;
  if (keys.length < n) return false;
  const mk = m.keys;
  if (trustOn && m.trusted && m.klist === null) {
    // Every key is an own data property (listed now, verified before).
    const vals = m.vals, vers = m.vers, mems = m.mems;
    encoderWork[1] += n;
    encoderWork[3] += n;
    // An object referred to again and again is not encoded again, which is
    // where a plan counts its uses: checks count them too.
    if (p !== null) usePlan(p);
    else if (cp !== null) useCut(cp, n);
    for (let i = 0; i < n; i++) {
      const k = keys[i];
      if (k !== mk[i] || !sameValue((o as Record<string, unknown>)[k], vals[i], vers[i], mems[i])) return false;
    }
    return true;
  }
  for (let i = 0; i < n; i++) {
    const k = keys[i];
    if (k !== mk[i]) return false;
    const id = m.vals[i];
    if (id === DROPPED_ID) continue;
    encoderWork[1]++;
    if (!sameEntry(ObjectGetOwnPropertyDescriptor(o, k), id, m.vers[i], m.mems[i])) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------
// Patches (design-docs/values.md, "Patches"): an object whose last full
// encoding in this batch kept all its keys, or a prefix of them cut by the
// items bound (one plan, none dropped, at most PATCH_MAX_KEYS kept) is
// written, when its keys are the same and at most about half of its entries
// differ, as a `patch` of that encoding: the indexes and values of the
// entries that changed since (or were written in an earlier patch, or
// cannot be checked: a map, an object met once). Each other entry is checked
// unchanged as for a reference, so its bytes in the full encoding are what
// it would encode to now; the patch's entries are encoded in place, in key
// order, with the budget a full encoding would give them (the entries
// between spend what they spent then), so a patch reads back as the full
// encoding would.
// ---------------------------------------------------------------------------

/** Patches are for encodings of at most this many kept entries: bits of
 *  two masks of MASK_BITS each (Memo.pmask/pmaskHi; 30 bits: a mask is
 *  a small integer). */
const MASK_BITS = 30;
const PATCH_MAX_KEYS = 2 * MASK_BITS;
/** Values read by diffPlain, and the indexes of those its compiled diff
 *  found needing sameValue. */
const gvals: unknown[] = [];
const didx = new Int32Array(PATCH_MAX_KEYS);
/** Entries diffPlain found changed, or not checkable (entries 0..29, 30..59). */
var dmask = 0;
var dmaskHi = 0;

/** Bit i of the mask pair (lo: entries 0..29, hi: 30..59). */
function maskBit(lo: number, hi: number, i: number): boolean {
  return (i < MASK_BITS ? (lo >>> i) & 1 : (hi >>> (i - MASK_BITS)) & 1) !== 0;
}

/** A patch of `m`'s base may be written here (same batch, rule set and
 *  remaining depth: an unchanged entry encodes as it did). */
function canPatch(m: Memo): boolean {
  return m.pbase >= 0 && m.epoch === epoch && m.attr === curAttr && depthBound - level === m.rem;
}

/** Compares `o` with its memo `m`: sets `dmask` to the entries that differ
 *  from the memo's last encoding or cannot be checked (0: a ref to it would
 *  do), or returns false when `o` needs a full encoding (other keys or
 *  prototype, an entry now an accessor or missing). `proto` is the
 *  prototype of `o`. */
function diffPlain(o: object, m: Memo, proto: object | null): boolean {
  if (proto !== m.proto && proto !== UNREAD) return false;
  const p = m.plan;
  const cp = m.cplan;
  // (as in readPlain, also for the kept prefix of a cut object)
  const diff = p !== null ? p.diff : cp !== null && cp.pn === m.scan ? cp.pdiff : null;
  if (diff !== null && trustOn && m.trusted && m.klist === null) {
    // (as in samePlain; an entry that cannot be checked compares as its
    // identity, vmask adds it)
    // (the diff compares the prototype, as the check does; the values it
    // lists are compared here, as in runCheck)
    const c = diff(o, ObjectKeys, gvals, didx, m.vals, m.proto);
    if (c < 0) return false;
    const vals = m.vals, vers = m.vers, mems = m.mems;
    let d = 0;
    let dh = 0;
    for (let j = 0; j < c; j++) {
      const i = didx[j];
      if (!sameValue(gvals[i], vals[i], vers[i], mems[i])) {
        if (i < MASK_BITS) d |= 1 << i;
        else dh |= 1 << (i - MASK_BITS);
      }
    }
    const n = m.scan;
    encoderWork[0] += n;
    encoderWork[1] += n;
    encoderWork[3] += n;
    dmask = d | m.vmask;
    dmaskHi = dh | m.vmaskHi;
    if (dmask === 0 && dmaskHi === 0) m.chk = tick;
    return true;
  }
  if (proto === UNREAD && ObjectGetPrototypeOf(o) !== m.proto) return false;
  const keys = ownKeys(o, m);
  const n = m.scan;
  // The same key count and kept prefix (keys cut by the items bound are
  // not written: the same count cuts them the same way).
  if (keysTotal !== m.total || keys.length < n) return false;
  const mk = m.keys, vals = m.vals, vers = m.vers, mems = m.mems, eh = m.eh;
  for (let i = 0; i < n; i++) if (keys[i] !== mk[i]) return false;
  encoderWork[1] += n;
  let d = 0;
  let dh = 0;
  if (trustOn && m.trusted) {
    encoderWork[3] += n;
    // (a patched object is not encoded again, where a plan counts its uses)
    if (p !== null) usePlan(p);
    else if (cp !== null) useCut(cp, n);
    if (p !== null && p.gather !== null) p.gather(o, gvals);
    else for (let i = 0; i < n; i++) gvals[i] = (o as Record<string, unknown>)[keys[i]];
    for (let i = 0; i < n; i++) {
      const v = gvals[i];
      const id = vals[i];
      if (v === id && typeof v !== 'object' && v !== 0 && (eh[i] & 1) !== 0) continue;
      if ((eh[i] & 1) === 0 || !sameValue(v, id, vers[i], mems[i])) {
        if (i < MASK_BITS) d |= 1 << i;
        else dh |= 1 << (i - MASK_BITS);
      }
    }
  } else {
    for (let i = 0; i < n; i++) {
      const pd = ObjectGetOwnPropertyDescriptor(o, keys[i]);
      const id = vals[i];
      if (pd === undefined) return false;
      if (isAccessorDescriptor(pd)) {
        if (id !== ACC[(pd.get !== undefined ? 1 : 0) | (pd.set !== undefined ? 2 : 0)]) return false;
        gvals[i] = id;
        continue;
      }
      const v = pd.value;
      gvals[i] = v;
      if ((eh[i] & 1) === 0 || !sameValue(v, id, vers[i], mems[i])) {
        // An accessor in the base is not patched (its flags are not a value).
        if (typeof id === 'object' && id !== null && (id === ACC[0] || id === ACC[1] || id === ACC[2] || id === ACC[3])) return false;
        if (i < MASK_BITS) d |= 1 << i;
        else dh |= 1 << (i - MASK_BITS);
      }
    }
  }
  dmask = d;
  dmaskHi = dh;
  if (d === 0 && dh === 0) m.chk = tick;
  return true;
}

function popcount(x: number): number {
  let c = 0;
  while (x !== 0) {
    x &= x - 1;
    c++;
  }
  return c;
}

/** Writes `o` as a patch of its memo's base (after diffPlain), or returns
 *  false with nothing written when a full encoding is needed. */
function putPatch(o: object, m: Memo): boolean {
  const n = m.scan;
  const mask = m.pmask | dmask;
  const maskHi = m.pmaskHi | dmaskHi;
  const k = popcount(mask) + popcount(maskHi);
  // A patch of more than about half the entries is hardly smaller. (The
  // budget left gives the same kept count: n, the items bound, or all keys.)
  if (2 * k > n + 2 || budget < n) {
    selfOk = false;
    return false;
  }
  const vals = m.vals, vers = m.vers, mems = m.mems, esp = m.esp, eh = m.eh, ered = m.ered;
  const acts = m.plan !== null ? m.plan.acts : null;
  // gvals is shared with the checks of the entries' own contents: copied
  // first. Only the entries found changed or not checkable (dmask): an
  // entry patched before and unchanged now holds its value in vals already,
  // and a compiled diff puts no equal primitive in gvals.
  const dm = dmask, dmHi = dmaskHi;
  for (let i = 0; dm >>> i !== 0; i++) if (((dm >>> i) & 1) !== 0) vals[i] = gvals[i];
  for (let i = 0; dmHi >>> i !== 0; i++) if (((dmHi >>> i) & 1) !== 0) vals[MASK_BITS + i] = gvals[MASK_BITS + i];
  const start = pos;
  const b0 = budget;
  const sOk = okAcc, sDeep = deepAcc, sH = hAcc, sC = circLow;
  ensure(22);
  buf[pos++] = T_PATCH;
  putVarint(m.pbase);
  putVarint(k);
  budget -= n;
  const myLevel = level;
  // At depth 0 right after its diff (encPlain), when no check reached `o`:
  // the checks of the diff stand with `o` on the stack (see selfObj).
  pushedAt[level] = selfOk && level === 0 ? topTick : ++tick;
  selfOk = false;
  ancestors[level++] = o;
  let ok = true;
  let deep = false;
  let h = 0;
  let cLow = 1 << 30;
  let red = 0;
  let drp = 0;
  let vm = 0;
  let vmHi = 0;
  for (let i = 0; i < n; i++) {
    if (!maskBit(mask, maskHi, i)) {
      // Unchanged: spends what it spent (enough budget left: not cut now).
      const more = (eh[i] & 4) !== 0;
      if (budget < (more ? esp[i] + 1 : esp[i])) {
        ancestors[--level] = undefined;
        abortPatch(start, b0, sOk, sDeep, sH, sC);
        return false;
      }
      budget -= esp[i];
      if (more) openB = budget;
    } else {
      putVarintChecked(i);
      const v = vals[i];
      const bb = budget;
      const r0 = filterCounts[3], d0 = filterCounts[7];
      okAcc = true;
      deepAcc = false;
      hAcc = 0;
      circLow = 1 << 30;
      verOut = 0;
      memOut = null;
      const ob = openB;
      openB = -1;
      // (an object cut by the items bound has no plan: its keys' actions)
      if (acts !== null ? acts[i] === 1 : curAttr !== 0 && keyAction(m.keys[i]) === 1) {
        filterCounts[3]++;
        putRedacted(v);
      } else enc(v);
      vers[i] = verOut;
      mems[i] = verOut !== 0 ? memOut : null;
      esp[i] = bb - budget;
      eh[i] = hAcc * 8 + (openB === budget ? 4 : 0) + (deepAcc ? 2 : 0) + (okAcc && circLow >= myLevel && !budgetDep(bb, v) ? 1 : 0);
      if (openB === -1) openB = ob;
      ered[i] = ((filterCounts[3] - r0) | 0) + ((filterCounts[7] - d0) | 0) * 16777216;
      if (circLow < cLow) cLow = circLow;
    }
    const e = eh[i];
    if ((e & 1) === 0) {
      ok = false;
      if (i < MASK_BITS) vm |= 1 << i;
      else vmHi |= 1 << (i - MASK_BITS);
    }
    if ((e & 2) !== 0) deep = true;
    if (e >> 3 > h) h = e >> 3;
    const rd = ered[i];
    red += rd % 16777216;
    drp += MathFloor(rd / 16777216);
  }
  ancestors[--level] = undefined;
  // The encoding is now this patch; what a ref to it spends and shows.
  m.pmask = mask;
  m.pmaskHi = maskHi;
  m.vmask = vm;
  m.vmaskHi = vmHi;
  m.off = start;
  m.ver = ++memoVer;
  m.ok = ok;
  m.deep = deep;
  m.height = h + 1;
  m.spent = b0 - budget;
  m.exact = budget === 0;
  m.need = openB === budget && budget !== 0 ? m.spent + 1 : m.spent;
  // (the patched entries' counts are in filterCounts already)
  m.red = red | 0;
  m.drp = drp | 0;
  encoderWork[4]++;
  verOut = ok ? m.ver : 0;
  memOut = m;
  okAcc = sOk && ok;
  deepAcc = sDeep || deep;
  hAcc = sH > m.height ? sH : m.height;
  circLow = sC < cLow ? sC : cLow;
  return true;
}

/** An entry encoded from `bb` budget left to what is left now, of value
 *  `v`, may have been cut by the budget (a container that spent the last
 *  of it, or met with none left): it reads the same only with the same
 *  budget left, which a patch does not promise, so it is always patched. */
function budgetDep(bb: number, v: unknown): boolean {
  return budget === 0 && (bb !== 0 || (typeof v === 'object' && v !== null));
}

/** A patch could not be finished (a budget cut a full encoding would not
 *  make): its bytes are discarded, and so is every memo's claim to bytes
 *  (the entries written may have recorded encodings inside them). */
function abortPatch(start: number, b0: number, sOk: boolean, sDeep: boolean, sH: number, sC: number): void {
  pos = start;
  budget = b0;
  // (the object was opened with b0 left: encPlain writes it in full next)
  openB = b0;
  epoch++;
  okAcc = sOk;
  deepAcc = sDeep;
  hAcc = sH;
  circLow = sC;
}

// ---------------------------------------------------------------------------
// Trust (design-docs/values.md, "Trusted objects"): an object whose own
// enumerable properties were all read with descriptors and found to be data
// properties stays so until a definer is called on it (the wrappers of
// js/runtime/definers.ts call untrust()): assignment, Object.assign, spread
// and deletion never create an accessor. Its later captures and checks read
// the keys that Object.keys lists (so, own) with plain reads. Only objects
// of this realm (prototype chain ending at this Object.prototype, or null)
// are trusted: another realm's definers are not wrapped.
// ---------------------------------------------------------------------------

/** Trust is on only while this realm's definers are wrapped. */
var trustOn = false;
/** An accessor was defined on Array.prototype or Object.prototype: a hole
 *  read through them could run it, so arrays are no longer trusted. */
var protoTaint = false;
/** 1 when Array.prototype's prototype is Object.prototype (0: not read
 *  yet): read again at each top-level value. Not kept while the wrapped
 *  prototype setters report no move: Node's own setter (`util.inherits`),
 *  another realm's and one captured before the recorder wrapped them move
 *  it unreported, and a hole would then be read through an index getter
 *  (decisions.md 41, *Review*). */
var arrChain = 0;

/** Turns trust on (the definers are wrapped) or off (tests). */
export function setTrust(on: boolean): void {
  trustOn = on;
  epoch++;
}

/** Called by the definer wrappers with their target. */
export function untrust(o: object): void {
  if (typeof o === 'function') {
    // A function's encoding (its name, its kind) is not checked: references
    // hold the function's identity only. A function encoded before and given
    // to a definer or a prototype setter since may encode differently now,
    // so every memo is dropped (the next captures are full encodings).
    if (FnSeenHas(fnSeen, o)) {
      fnSeen = new WeakSet<object>();
      epoch++;
    }
    return;
  }
  const m = MemoGet(memos, o);
  if (m !== undefined && m !== SEEN) for (let c: Memo | null = m; c !== null; c = c.alt) c.trusted = false;
  if (ArrayIsArray(o) && !isProxy(o)) {
    // An array is read with plain reads from its first encoding on unless
    // it was given to a definer (fresh arrays): this mark says it was, until
    // an encoding reads every element with a descriptor. Apart from the
    // memos, which a new generation drops.
    DefinedAdd(definedArrays, o);
    definedAny = true;
  }
  if (o === ArrayPrototype || o === ObjectPrototype) protoTaint = true;
}

const realmOk = new WeakMap<object, boolean>();
const RealmGet = uncurry<boolean | undefined>(WeakMap.prototype.get);

/** The prototype chain from `proto` ends at this realm's Object.prototype
 *  (no Proxy in it). */
function ownRealm(proto: object | null): boolean {
  if (proto === null || proto === ObjectPrototype || proto === ArrayPrototype) return true;
  const known = RealmGet(realmOk, proto);
  if (known !== undefined) return known;
  let p: object | null = proto;
  let ok = false;
  for (let i = 0; i < 64 && p !== null; i++) {
    if (isProxy(p)) break;
    if (p === ObjectPrototype) {
      ok = true;
      break;
    }
    p = ObjectGetPrototypeOf(p) as object | null;
  }
  MemoSet(realmOk, proto, ok);
  return ok;
}

/** A trusted array may be read with plain reads: its prototype is
 *  Array.prototype, whose chain is untouched (a hole reads through it). */
function trustedArray(a: unknown[]): boolean {
  if (protoTaint || ObjectGetPrototypeOf(a) !== ArrayPrototype) return false;
  if (arrChain === 0) arrChain = ObjectGetPrototypeOf(ArrayPrototype) === ObjectPrototype ? 1 : 2;
  return arrChain === 1;
}

/** Own enumerable keys of `o` (a prefix for a large object, see Memo.klist);
 *  sets `keysTotal` to their count. */
var keysTotal = 0;
function ownKeys(o: object, m: Memo | undefined): string[] {
  if (m !== undefined && m.klist !== null) {
    if (m.kcredit > 0) {
      const kl = m.klist;
      const check = kl.length < itemsBound ? kl.length : itemsBound;
      encoderWork[0] += check;
      let i = 0;
      while (i < check && ObjectHasOwn(o, kl[i])) i++;
      if (i === check) {
        m.kcredit--;
        keysTotal = m.ktotal;
        return kl;
      }
    }
    m.klist = null;
  }
  const keys = ObjectKeys(o);
  const total = keys.length;
  encoderWork[0] += total;
  keysTotal = total;
  if (total > BIG_KEYS) {
    if (m === undefined) m = putMemo(o, K_OBJECT, 0);
    // Listing the keys again after total/items captures keeps the average
    // work per capture at about `items` keys.
    const keep = 2 * itemsBound + 16;
    m.klist = ArrayPrototypeSlice(keys, 0, keep);
    memoUsed += keep * 8;
    m.ktotal = total;
    m.kcredit = itemsBound > 0 ? MathFloor(total / itemsBound) : total;
  }
  return keys;
}

// ---------------------------------------------------------------------------
// Plans: per prototype and key list, what the encoder decided for the keys
// (the attr: action of each key, evaluated once per distinct key name, and
// the encoded bytes of each key), so that objects of one shape cost pointer
// comparisons instead of per-key decisions. A prototype keeps its 32 most
// recent key lists (acorn's Node objects share one prototype, many shapes).
// ---------------------------------------------------------------------------

const PLAN_KEYS = 64;
const PLANS_PER_PROTO = 32;
class Plan {
  /** Encodings that used this plan, until its readers are compiled. */
  uses = 0;
  /** Compiled readers of the keys (named loads, monomorphic per shape):
   *  `gather` copies the values into an array, `check` compares them with a
   *  memo's; null until the plan is used GEN_AFTER times (or when code
   *  generation is not allowed). Used only on trusted objects. */
  gather: Gather | null = null;
  check: Check | null = null;
  /** Reads every key into `out` and returns the bits of the entries that
   *  differ from a memo's (patches). */
  diff: Diff | null = null;
  /** The same readers for the first `pn` keys only (objects of these keys
   *  cut by the items bound, trusted up to their kept keys: values.md,
   *  "Trusted objects"); the check and the diff compare the key count and
   *  the first pn keys, and read no other key. */
  pn = 0;
  puses = 0;
  pgather: Gather | null = null;
  pcheck: Check | null = null;
  pdiff: Diff | null = null;
  /** Objects of this plan marked as seen at their first encoding, those of
   *  them met again, and first encodings not marked (see markSeen). */
  marked = 0;
  back = 0;
  unmarked = 0;
  /** Keys dropped by the plan's attr: actions. */
  drops = 0;
  /** The bytes of a complete encoding's head (tag, class name `hcls`, total
   *  and kept count: every key not dropped kept), made at its first use. */
  hcls = '';
  head: Uint8Array | null = null;
  /** head's length (a typed array's length is a getter a program can replace). */
  hlen = 0;
  /** The attr: rule set and the string bound's generation it was made
   *  with (number fields from their definition, as Memo.kind). */
  readonly attr: number = 0;
  readonly gen: number = 0;
  /** Shape witness (decisions.md 37, off by default): a private object of
   *  this plan's keys, all data properties, made by `witMk`; a fresh object
   *  with its map has only these own named properties, all data. */
  wit: object | null = null;
  witMk: ((v: unknown[]) => object) | null = null;
  /** 0 not decided, 1 the keys allow a witness, 2 they do not. */
  witOk = 0;
  witBuilds = 0;
  witMiss = 0;
  witHits = 0;
  /** Generated first-encoding writer (see compileWriter): null until the
   *  plan's WRITE_AFTER-th fresh object, and for good when its keys have
   *  attr: actions or code generation is not allowed. */
  write: Writer | null = null;
  wuses = 0;
  /** Bytes its head, keys and a primitive value each (at most 9) may take. */
  wneed = 0;
  /** The head the writer writes when asked (the plan's head when it was made). */
  whead: Uint8Array | null = null;
  constructor(
    readonly keys: string[],
    attr: number,
    gen: number,
    readonly acts: Uint8Array,
    readonly kbytes: Uint8Array,
    readonly koff: Int32Array,
  ) {
    this.attr = attr;
    this.gen = gen;
  }
}

/** Writes every field of a throwaway memo and plan once more, with another
 *  value of the same kind, when the module loads. V8 treats a field written
 *  once as constant and lets optimized code rely on that; the first later
 *  write (a plan's first cut readers, a memo's first key list cache...)
 *  then deoptimizes every function that did, in the middle of a run
 *  (decisions.md 36). The plan's constructor parameters stay constant (they
 *  are never written again). */
function settleShapes(): void {
  const m = new Memo(K_OBJECT, 1) as unknown as Record<string, unknown>;
  const p = new Plan(NO_KEYS, 0, 0, new U8(0), new U8(0), new Int32Array(1)) as unknown as Record<string, unknown>;
  const fixed = ['keys', 'attr', 'gen', 'acts', 'kbytes', 'koff'];
  for (const o of [m, p]) {
    for (const k of ObjectKeys(o)) {
      if (o === p && fixed.includes(k)) continue;
      const v = o[k];
      // (the same representation: small integers stay small integers)
      o[k] = typeof v === 'number' ? v + 1 : typeof v === 'boolean' ? !v : typeof v === 'string' ? v + '-' : ArrayIsArray(v) ? [] : v === null ? NO_KEYS : null;
    }
  }
}
settleShapes();

type Gather = (o: object, out: unknown[]) => void;
type Keys = (o: object) => string[];
/** Lists the keys of `o` and compares them with the plan's, and the
 *  prototype with `proto` (-1 when either differs), then reads the values:
 *  each one that is not the memo's (`vals`) same primitive goes in
 *  out[i], its index i in idx[c], for the caller to compare with
 *  sameValue (runCheck); returns the count c. */
type Check = (o: object, keys: Keys, out: unknown[], idx: Int32Array, vals: unknown[], proto: object | null) => number;
/** As Check, but puts every value in out[i] (patches: diffPlain). A plan
 *  of at most PATCH_MAX_KEYS keys has one function for both: its check is
 *  its diff (one compilation, where two cost a third more of V8's compile
 *  work on the object-heavy workload). */
type Diff = Check;
const GEN_AFTER = 16;
/** samePlain's `proto` when the caller did not read it (a compiled check
 *  compares it itself). */
const UNREAD = {} as object;
/** Off when code generation from strings is not allowed (--disallow-code-generation-from-strings). */
var genOk = true;
const FunctionCtor = Function;
const JSONStringify = JSON.stringify;

/** Compiles a plan's readers: a key read as a named property load has an
 *  inline cache of its own, where one keyed load for all keys of all shapes
 *  is megamorphic (a descriptor search per read). Only for trusted objects,
 *  whose listed keys are own data properties: a plain read runs nothing. */
function compilePlan(p: Plan): void {
  const r = compileReaders(p.keys, p.keys.length);
  if (r === null) return;
  p.gather = r[0];
  p.check = r[1];
  p.diff = r[2];
}

/** The readers of the first `n` of the keys `ks` (all of them, or the kept
 *  prefix of a cut object), or null when code generation is not allowed. */
function compileReaders(ks: string[], n: number): [Gather, Check, Diff | null] | null {
  let g = '';
  let c = '';
  let df = '';
  // The key list, compared with the plan's keys as constants: the checks
  // list the keys themselves (Object.keys: own keys only, so a deleted key
  // is never read and a prototype getter of that name cannot run). Only
  // the first n keys are compared and read; the count is compared in full.
  let kc = `if(ks.length!==${ks.length}`;
  for (let i = 0; i < n; i++) kc += `||ks[${i}]!==${JSONStringify(ks[i])}`;
  // Straight-line code that calls nothing (sameValue stays out: TurboFan
  // inlined it into every reader that called it, with its own callees,
  // readArray and samePlain, which made each reader as dear to compile as
  // a big function of the encoder; decisions.md 36). An equal primitive
  // other than 0 is the same; every other value is listed for sameValue.
  for (let i = 0; i < n; i++) {
    const q = JSONStringify(ks[i]);
    g += `out[${i}]=o[${q}];`;
    // An object is listed (sameValue checks what it holds); 0 and -0 are
    // === but encode differently: compared by 1/v here. (The typeof tests
    // first: a `v===0` met by values of other types compiles to a call of
    // V8's generic StrictEqual, twice per key before.)
    const slow = `v!==vals[${i}]||(typeof v==='object'?v!==null:typeof v==='number'&&v===0&&1/v!==1/vals[${i}])`;
    // The prototype is compared right after the first named load: V8
    // then knows the object's map there (an inline cache per shape) and
    // reads the prototype from it, where Object.getPrototypeOf called on
    // objects of many shapes is a call into the runtime.
    const load = `v=o[${q}];${i === 0 ? 'if(G(o)!==proto)return -1;' : ''}`;
    // (a plan of more keys than a diff reads has a check of its own)
    // Only a listed value is put in out (putPatch copies the values of the
    // entries the diff found changed, never those of an equal primitive).
    if (n > PATCH_MAX_KEYS) c += `${load}if(${slow}){out[${i}]=v;idx[c++]=${i}}`;
    else df += `${load}if(${slow}){out[${i}]=v;idx[c++]=${i}}`;
  }
  try {
    // Named for CPU profiles (noderec://plan-gather, -check, -diff). The
    // name has a scheme: with source maps enabled (tsx, --enable-source-maps)
    // or NODE_V8_COVERAGE, Node looks at the sourceURL of every `new
    // Function`, and resolves one without a scheme as a path through
    // process.cwd, which the program may have replaced (graceful-fs): its
    // code would run inside an encoding (test/integration/values-reentry).
    const gather = new FunctionCtor('o', 'out', `'use strict';${g}\n//# sourceURL=noderec://plan-gather`) as Gather;
    // Object.getPrototypeOf reaches the readers as a constant of the
    // closure (a program's replacement of the global is never called),
    // which V8 folds; a reader of no key compares it after the keys.
    const head = `'use strict';const g=G;return function(o,keys,out,idx,vals,proto){const G=g;const ks=keys(o);${kc})return -1;`;
    const tail = n === 0 ? 'return G(o)===proto?0:-1}' : 'return c}';
    const diff =
      n <= PATCH_MAX_KEYS
        ? (new FunctionCtor('G', `${head}let v,c=0;${df}${tail}\n//# sourceURL=noderec://plan-diff`) as (gp: typeof ObjectGetPrototypeOf) => Diff)(ObjectGetPrototypeOf)
        : null;
    const check = diff !== null ? diff : (new FunctionCtor('G', `${head}let v,c=0;${c}${tail}\n//# sourceURL=noderec://plan-check`) as (gp: typeof ObjectGetPrototypeOf) => Check)(ObjectGetPrototypeOf);
    return [gather, check, diff];
  } catch {
    genOk = false;
    return null;
  }
}

/** Counts a use of plan `p`'s first `n` keys (a cut object); compiles
 *  their readers at the GEN_AFTER-th (again when the kept count changed). */
function useCut(p: Plan, n: number): void {
  if (p.pn !== n) {
    p.pn = n;
    p.puses = 0;
    p.pgather = null;
    p.pcheck = null;
    p.pdiff = null;
  }
  if (p.pcheck === null && genOk && ++p.puses === GEN_AFTER) {
    const r = compileReaders(p.keys, n);
    if (r === null) return;
    p.pgather = r[0];
    p.pcheck = r[1];
    p.pdiff = r[2];
  }
}
/** Counts a use of plan `p`; compiles its readers at the GEN_AFTER-th. */
function usePlan(p: Plan): void {
  if (p.check === null && genOk && ++p.uses === GEN_AFTER) compilePlan(p);
}
const plans = new WeakMap<object, Plan[]>();
const PlansGet = uncurry<Plan[] | undefined>(WeakMap.prototype.get);
const NULL_PROTO_KEY = {};
/** Bumped when the string bound changes (key bytes depend on it). */
var planGen = 0;

/** The plan list of Object.prototype (looked up once, not per object). */
var objPlans: Plan[] | undefined = undefined;
function planFor(proto: object | null, keys: string[], total: number): Plan {
  const pk = proto === null ? NULL_PROTO_KEY : proto;
  let list = pk === ObjectPrototype && objPlans !== undefined ? objPlans : PlansGet(plans, pk);
  if (list !== undefined) {
    for (let j = 0; j < list.length; j++) {
      const p = list[j];
      const pkeys = p.keys;
      if (pkeys.length !== total || p.attr !== curAttr || p.gen !== planGen) continue;
      // From the last key: the keys of objects of one prototype often
      // begin alike (acorn's nodes: type, start, end), so a plan of other
      // keys is told apart at the first comparison.
      let i = total;
      while (i > 0 && pkeys[i - 1] === keys[i - 1]) i--;
      if (i === 0) {
        // Most recently used first.
        if (j > 0) {
          list[j] = list[0];
          list[0] = p;
        }
        usePlan(p);
        return p;
      }
    }
  } else {
    list = [];
    MemoSet(plans, pk, list);
    if (pk === ObjectPrototype) objPlans = list;
  }
  const acts = new U8(total);
  const koff = new Int32Array(total + 1);
  const start = pos;
  let drops = 0;
  for (let i = 0; i < total; i++) {
    const act = curAttr !== 0 ? keyAction(keys[i]) : 0;
    acts[i] = act;
    if (act === 2) drops++;
    koff[i] = pos - start;
    putStr(keys[i]);
  }
  koff[total] = pos - start;
  const kbytes = TypedArraySlice(buf, start, pos);
  pos = start;
  const p = new Plan(ArrayPrototypeSlice(keys, 0, total), curAttr, planGen, acts, kbytes, koff);
  p.drops = drops;
  if (list.length >= PLANS_PER_PROTO) ArrayPrototypePop(list);
  ArrayPrototypeUnshift(list, p);
  return p;
}

/** Whether to mark an object of plan `p`, met for the first time, as seen
 *  (so that its second encoding makes a memo and the third can be a
 *  reference). The mark is a WeakMap insertion of a young object, the
 *  dearest step of a first encoding (garbage-collector work on the
 *  ephemeron table: decisions.md 14). Objects of a shape whose marked
 *  objects almost never come back (fresh objects made per call) are marked
 *  one in MARK_SAMPLE only: one that does come back is marked after a few
 *  more encodings (each written in full, as without references), and once
 *  one in MARK_BACK of the marked ones came back every object of the shape
 *  is marked again. Only what is referred to changes, never what is
 *  recorded. */
const MARK_LEARN = 64;
const MARK_BACK = 8;
const MARK_SAMPLE = 64;
function markSeen(p: Plan): boolean {
  if (p.marked < MARK_LEARN || p.back * MARK_BACK >= p.marked || ++p.unmarked >= MARK_SAMPLE) {
    p.unmarked = 0;
    p.marked++;
    return true;
  }
  return false;
}

/** Writes key `i` of a plan (its `str` body). */
function putPlanKey(p: Plan, i: number): void {
  const a = p.koff[i];
  const e = p.koff[i + 1];
  ensure(e - a);
  const kb = p.kbytes;
  const b = buf;
  let q = pos;
  for (let j = a; j < e; j++) b[q++] = kb[j];
  pos = q;
}

/** The `end` keys an encoding keeps are, at their places, the kept keys of
 *  the verification of memo `m` (trusted up to a cut, Memo.tcut). */
function keptAsVerified(keys: string[], m: Memo, end: number): boolean {
  if (end > m.scan) return false;
  const mk = m.keys;
  for (let i = 0; i < end; i++) if (keys[i] !== mk[i]) return false;
  return true;
}

/** Records a fresh encoding in `m` and hands its facts to the enclosing
 *  container's accumulators (restored from the saved values). */
function closeMemo(m: Memo, off: number, spent: number, myLevel: number): void {
  m.ok = okAcc && circLow >= myLevel;
  m.epoch = epoch;
  m.off = off;
  m.ver = ++memoVer;
  m.rem = depthBound - myLevel;
  m.height = hAcc + 1;
  m.deep = deepAcc;
  m.spent = spent;
  // (budget: what is left after the encoding)
  // A cut by the budget (its own kept count, or a container inside) leaves
  // none: the same budget left cuts the same entries the same way.
  m.exact = budget === 0;
  m.need = openB === budget && budget !== 0 ? spent + 1 : spent;
  m.attr = curAttr;
}

function encArray(a: unknown[], m: Memo | undefined): void {
  if (cutContainer(a, null, UNREAD)) return;
  const seen = seenFlag;
  seenFlag = false;
  if (m !== undefined && refsOn && !canRef(m)) m = ctxMemo(m);
  // Never given to a definer (or verified since): see definedArray.
  const fresh = m === undefined ? !definedArray(a) : m.trusted;
  // A length that differs is a change found without reading anything: no
  // check, and no miss counted (see worthChecking).
  if (m !== undefined && refsOn && canRef(m) && a.length === m.total && worthChecking(m) && checked(m, sameArray(a, m))) {
    putRef(m);
    return;
  }
  if (m === undefined && refsOn && !seen) {
    putSeen(a);
    // Written without a memo: whatever contains it cannot be referred to.
    okAcc = false;
    m = undefined;
  } else if (m === undefined && refsOn) {
    m = putMemo(a, K_ARRAY, a.length < itemsBound ? a.length : itemsBound);
    m.trusted = trustOn && fresh;
  }
  const off = pos;
  const b0 = budget;
  const len = a.length;
  const n = take(len);
  ensure(21);
  buf[pos++] = T_ARRAY;
  putVarint(len);
  putVarint(n);
  const myLevel = level;
  pushedAt[level] = ++tick;
  ancestors[level++] = a;
  encoderWork[1] += n;
  // [name, value, ...] (rawHeaders) and [name, value] entries: values by name (secrets.ts).
  const pairs = curAttr !== 0 && isPairList(a);
  if (m === undefined || !refsOn) {
    // A fresh array (no memo: never given to a definer, values.md "Trusted
    // objects") holds no accessor: plain reads, but undefined may be a hole.
    if (trustOn && fresh && !pairs && trustedArray(a)) {
      encoderWork[3] += n;
      // Small ints inline (the common element: tag and one or two bytes),
      // written through locals (buf and pos are module variables, a load
      // and a store each); anything else through enc (which may grow buf).
      let b = buf;
      let p = pos;
      for (let i = 0; i < n; i++) {
        const v = a[i];
        if (typeof v === 'number' && (v | 0) === v && v < 8192 && v > -8192 && (v !== 0 || 1 / v > 0)) {
          if (p + 3 > bufCap) {
            pos = p;
            grow(3);
            b = buf;
          }
          const z = (v << 1) ^ (v >> 31);
          b[p++] = T_INT;
          if (z < 0x80) b[p++] = z;
          else {
            b[p] = (z & 0x7f) | 0x80;
            b[p + 1] = z >>> 7;
            p += 2;
          }
          continue;
        }
        pos = p;
        if (typeof v === 'number') putNumber(v);
        else if (v !== undefined) enc(v);
        else if (ObjectHasOwn(a, i)) putTag(T_UNDEFINED);
        else putTag(T_HOLE);
        b = buf;
        p = pos;
      }
      pos = p;
      ancestors[--level] = undefined;
      verOut = 0;
      return;
    }
    for (let i = 0; i < n; i++) {
      const d = ObjectGetOwnPropertyDescriptor(a, i);
      if (d === undefined) putTag(T_HOLE);
      else if (isAccessorDescriptor(d)) encAccessor(d);
      else if (pairs && (i & 1) === 1 && pairValue(a, i, d.value)) continue;
      else enc(d.value);
    }
    ancestors[--level] = undefined;
    verOut = 0;
    return;
  }
  const sOk = okAcc, sDeep = deepAcc, sH = hAcc, sC = circLow;
  okAcc = true;
  deepAcc = false;
  hAcc = 0;
  circLow = 1 << 30;
  const r0 = filterCounts[3], d0 = filterCounts[7];
  const vals = m.vals, vers = m.vers, mems = m.mems;
  const trusted = trustOn && m.trusted && trustedArray(a);
  let allData = trustOn;
  if (trusted) encoderWork[3] += n;
  for (let i = 0; i < n; i++) {
    verOut = 0;
    if (trusted) {
      const v = a[i];
      // undefined may be a hole: the descriptor tells.
      if (v !== undefined) {
        vals[i] = v;
        // A value redacted by its name, as below.
        if (!(pairs && (i & 1) === 1 && pairValue(a, i, v))) enc(v);
        vers[i] = verOut;
        mems[i] = verOut !== 0 ? memOut : null;
        continue;
      }
    }
    const d = ObjectGetOwnPropertyDescriptor(a, i);
    if (d === undefined) {
      putTag(T_HOLE);
      vals[i] = HOLE_ID;
    } else if (isAccessorDescriptor(d)) {
      allData = false;
      vals[i] = ACC[encAccessor(d)];
    } else {
      const v = d.value;
      vals[i] = v;
      // A value redacted by its name (the element before, also in vals):
      // the same name and value give the same bytes (an object's type is
      // its prototype's class name: putRedacted leaves its marker).
      if (!(pairs && (i & 1) === 1 && pairValue(a, i, v))) enc(v);
    }
    vers[i] = verOut;
    mems[i] = verOut !== 0 ? memOut : null;
  }
  // (setting a length is a builtin call even when it does not change)
  if (vals.length !== n) vals.length = n;
  if (vers.length !== n) vers.length = n;
  if (mems.length !== n) mems.length = n;
  ancestors[--level] = undefined;
  // Verified: every element read and none an accessor (holes read through
  // Array.prototype, which trustedArray() checks at each capture).
  m.trusted = trusted || (allData && n === len && ObjectGetPrototypeOf(a) === ArrayPrototype);
  // Verified: no longer marked as given to a definer (a memo may be dropped).
  if (m.trusted && !trusted && definedAny) DefinedDelete(definedArrays, a);
  m.proto = null;
  m.total = len;
  m.scan = n;
  m.red = (filterCounts[3] - r0) | 0;
  m.drp = (filterCounts[7] - d0) | 0;
  // (cut by the budget: Memo.exact)
  closeMemo(m, off, b0 - budget, myLevel);
  verOut = m.ok ? m.ver : 0;
  memOut = m;
  okAcc = sOk && m.ok;
  deepAcc = sDeep || deepAcc;
  hAcc = sH > m.height ? sH : m.height;
  circLow = sC < circLow ? sC : circLow;
}

/** Element `i` of a pair list when the attr rules redact or drop its name
 * (written as redacted; true), else false. */
function pairValue(a: unknown[], i: number, v: unknown): boolean {
  const name = pairName(a, i);
  const act = name === null ? 0 : keyAction(name);
  if (act === 0) return false;
  filterCounts[act === 1 ? 3 : 7]++;
  if (act === 1) putRedacted(v);
  else {
    putTag(T_REDACTED);
    putStr('');
  }
  return true;
}

/** Writes an accessor's flags; returns them. */
function encAccessor(d: PropertyDescriptor): number {
  ensure(2);
  const f = (d.get !== undefined ? 1 : 0) | (d.set !== undefined ? 2 : 0);
  buf[pos++] = T_ACCESSOR;
  buf[pos++] = f;
  return f;
}

/** An ordinary object (plain, class instance, null prototype). Under attr
 *  rules, redacted keys keep the key and the type, dropped keys are left
 *  out (and out of `total`, for the scanned prefix). */
function encPlain(o: object, cls: string, proto: object | null, m: Memo | undefined): void {
  if (proto === UNREAD && (level >= depthBound || budget <= 0) && findAncestor(o) === 0) {
    // Cut here (truncated, with its class name): read now (encKnown).
    proto = knownProto(o, m!);
    if (proto === UNREAD) return;
    cls = knownCls;
  }
  if (cutContainer(o, cls, proto)) return;
  const seen = seenFlag;
  seenFlag = false;
  if (m !== undefined && refsOn) {
    if (!canRef(m)) m = ctxMemo(m);
    if (canPatch(m)) {
      // Found unchanged earlier in this value (see checkedNow): a reference.
      // (Never at depth 0: nothing of the value was checked yet.)
      if (level > 0 && checkedNow(m) && canRef(m)) {
        putRef(m);
        return;
      }
      if (worthChecking(m)) {
        if (level === 0) {
          selfObj = o;
          selfHit = false;
        }
        const same = diffPlain(o, m, proto);
        selfOk = level === 0 && !selfHit;
        selfObj = null;
        if (same && dmask === 0 && dmaskHi === 0 && canRef(m)) {
          checked(m, true);
          putRef(m);
          return;
        }
        // Found unchanged but not referable here (the budget left, an
        // encoding cut by it): not a miss, or the object would be encoded
        // in full, with a new version, at the next captures unchecked.
        const patched = same && putPatch(o, m);
        checked(m, patched || (same && dmask === 0 && dmaskHi === 0));
        if (patched) return;
      }
    } else if (canRef(m) && worthChecking(m) && checked(m, samePlain(o, m, proto))) {
      putRef(m);
      return;
    }
  }
  if (proto === UNREAD) {
    // Written in full (encKnown): the prototype and class name now.
    proto = knownProto(o, m!);
    if (proto === UNREAD) return;
    cls = knownCls;
  }
  const off = pos;
  const b0 = budget;
  const keys = ownKeys(o, m);
  // Met for the first time: written without a memo, and marked as seen
  // below (or not: see Plan.marked).
  let first = false;
  let second = false;
  if (m === undefined && refsOn) {
    // ownKeys makes a memo for a large object (only then is one there now).
    if (keysTotal > BIG_KEYS) m = MemoGet(memos, o);
    if (m === undefined && !seen) {
      first = true;
      okAcc = false;
    } else if (m === undefined || m === SEEN) {
      second = seen;
      m = putMemo(o, K_OBJECT, keysTotal < itemsBound ? keysTotal : itemsBound);
    }
  }
  const known = keysTotal;
  // process.env: each variable by the [secrets] allow-list (secrets.ts); a
  // plan is shared by every object of the shape, so none is used for it.
  const env = isEnvObject(o);
  const filtered = curAttr !== 0 || env;
  const plan = !env && known <= PLAN_KEYS && known === keys.length ? planFor(proto, keys, known) : null;
  if (first) {
    if (plan === null || markSeen(plan)) putSeen(o);
  } else if (second && plan !== null) plan.back++;
  const limit = itemsBound < budget ? itemsBound : budget;
  if (plan !== null && known <= limit && (!refsOn || m === undefined)) {
    encFresh(o, plan, cls, known);
    return;
  }
  putTag(T_OBJECT);
  putStr(cls);
  let total = known;
  let n = 0;
  let end = 0;
  // (the end of the last kept key: dropped keys after it were looked at
  // only because the budget left more than n)
  let kEnd = 0;
  if (filtered) {
    for (; end < keys.length && n < limit; end++) {
      if ((plan !== null ? plan.acts[end] : env ? objectKeyAction(o, keys[end]) : keyAction(keys[end])) === 2) total--;
      else {
        n++;
        kEnd = end + 1;
      }
    }
  } else {
    n = known < limit ? known : limit;
    end = n;
  }
  budget -= n;
  // With exactly n left the loop stops before them and `total` counts them:
  // written the same only with one entry more (see Memo.need; ctx21).
  if (end > kEnd && n < itemsBound) openB = budget;
  ensure(20);
  putVarint(total);
  putVarint(n);
  const myLevel = level;
  pushedAt[level] = ++tick;
  ancestors[level++] = o;
  encoderWork[1] += n;
  if (!refsOn || m === undefined) {
    for (let i = 0; i < end; i++) {
      const k = keys[i];
      const act = plan !== null ? plan.acts[i] : env ? objectKeyAction(o, k) : filtered ? keyAction(k) : 0;
      if (act === 2) {
        filterCounts[7]++;
        continue;
      }
      if (plan !== null) putPlanKey(plan, i);
      else putStr(k);
      const d = ObjectGetOwnPropertyDescriptor(o, k);
      if (d === undefined) putTag(T_UNDEFINED);
      else if (isAccessorDescriptor(d)) encAccessor(d);
      else if (act === 1) {
        filterCounts[3]++;
        putRedacted(d.value);
      } else enc(d.value);
    }
    ancestors[--level] = undefined;
    // (no memo: a container inside must not pass for this one)
    verOut = 0;
    return;
  }
  const sOk = okAcc, sDeep = deepAcc, sH = hAcc, sC = circLow;
  okAcc = true;
  deepAcc = false;
  hAcc = 0;
  circLow = 1 << 30;
  const r0 = filterCounts[3], d0 = filterCounts[7];
  const mk = m.keys, vals = m.vals, vers = m.vers, mems = m.mems;
  // Keys come from Object.keys (own); a trusted object's are data properties
  // (trusted up to a cut: those of the kept names at their places only).
  const trusted = trustOn && m.trusted && m.klist === null && (!m.tcut || keptAsVerified(keys, m, end));
  // Verified by this encoding: every key read (or the kept ones, tcut).
  let allData = trustOn && !trusted && m.klist === null;
  // All keys of a known plan: the compiled reader gathers the values.
  const full = plan !== null && end === known;
  // A cut one (trusted up to its kept keys): the prefix reader.
  const gathered = trusted && (full ? plan.gather !== null : plan !== null && plan.pn === end && plan.pgather !== null);
  // What each entry spent and showed, for patches of this encoding: all
  // keys kept, or a prefix cut by the items bound (not by the budget left,
  // which differs between captures).
  const track = !env && end <= PATCH_MAX_KEYS && n === end && (n === known || n === itemsBound);
  if (track && m.esp.length < end) {
    m.esp = new ArrayCtor(end);
    m.eh = new ArrayCtor(end);
    m.ered = new ArrayCtor(end);
    memoUsed += 3 * (SLOT_BYTES * end + 32);
  }
  const esp = m.esp, eh = m.eh, ered = m.ered;
  let dropped = false;
  let tOk = true, tDeep = false, tH = 0, tC = 1 << 30, bb = 0, rr = 0, dd = 0, ob = 0;
  if (trusted) encoderWork[3] += n;
  if (gathered) (full ? plan!.gather! : plan!.pgather!)(o, vals);
  for (let i = 0; i < end; i++) {
    const k = keys[i];
    mk[i] = k;
    const act = plan !== null ? plan.acts[i] : env ? objectKeyAction(o, k) : filtered ? keyAction(k) : 0;
    if (act === 2) {
      filterCounts[7]++;
      vals[i] = DROPPED_ID;
      vers[i] = 0;
      mems[i] = null;
      // Not read, so not verified.
      allData = false;
      dropped = true;
      continue;
    }
    if (plan !== null) putPlanKey(plan, i);
    else putStr(k);
    verOut = 0;
    if (track) {
      tOk = okAcc;
      tDeep = deepAcc;
      tH = hAcc;
      tC = circLow;
      okAcc = true;
      deepAcc = false;
      hAcc = 0;
      circLow = 1 << 30;
      bb = budget;
      rr = filterCounts[3];
      dd = filterCounts[7];
      ob = openB;
      openB = -1;
    }
    if (trusted) {
      const v = gathered ? vals[i] : (o as Record<string, unknown>)[k];
      vals[i] = v;
      if (act === 1) {
        filterCounts[3]++;
        putRedacted(v);
      } else enc(v);
    } else {
      const d = ObjectGetOwnPropertyDescriptor(o, k);
      if (d === undefined) {
        putTag(T_UNDEFINED);
        vals[i] = MISSING_ID;
        okAcc = false;
        allData = false;
      } else if (isAccessorDescriptor(d)) {
        allData = false;
        vals[i] = ACC[encAccessor(d)];
      } else if (act === 1) {
        filterCounts[3]++;
        vals[i] = d.value;
        putRedacted(d.value);
      } else {
        const v = d.value;
        vals[i] = v;
        enc(v);
      }
    }
    vers[i] = verOut;
    mems[i] = verOut !== 0 ? memOut : null;
    if (track) {
      esp[i] = bb - budget;
      eh[i] = hAcc * 8 + (openB === budget ? 4 : 0) + (deepAcc ? 2 : 0) + (okAcc && circLow >= myLevel && !budgetDep(bb, vals[i]) ? 1 : 0);
      if (openB === -1) openB = ob;
      ered[i] = ((filterCounts[3] - rr) | 0) + ((filterCounts[7] - dd) | 0) * 16777216;
      okAcc = tOk && okAcc;
      deepAcc = tDeep || deepAcc;
      if (tH > hAcc) hAcc = tH;
      if (tC < circLow) circLow = tC;
    }
  }
  if (mk.length !== end) mk.length = end;
  if (vals.length !== end) vals.length = end;
  if (vers.length !== end) vers.length = end;
  if (mems.length !== end) mems.length = end;
  ancestors[--level] = undefined;
  if (!trusted) {
    m.trusted = allData && ownRealm(proto);
    m.tcut = end < keys.length;
  }
  m.plan = full ? plan : null;
  // (a cut object: its keys' plan, for the kept-prefix readers)
  m.cplan = !full && plan !== null && n === end ? plan : null;
  m.pmask = 0;
  m.pbase = track && !dropped ? off : -1;
  m.pmaskHi = 0;
  if (track) {
    let vm = 0;
    let vmHi = 0;
    for (let i = 0; i < end; i++) {
      if ((eh[i] & 1) !== 0) continue;
      if (i < MASK_BITS) vm |= 1 << i;
      else vmHi |= 1 << (i - MASK_BITS);
    }
    m.vmask = vm;
    m.vmaskHi = vmHi;
  }
  m.proto = proto;
  m.cls = cls;
  m.total = known;
  m.scan = end;
  m.red = (filterCounts[3] - r0) | 0;
  m.drp = (filterCounts[7] - d0) | 0;
  closeMemo(m, off, b0 - budget, myLevel);
  verOut = m.ok ? m.ver : 0;
  memOut = m;
  okAcc = sOk && m.ok;
  deepAcc = sDeep || deepAcc;
  hAcc = sH > m.height ? sH : m.height;
  circLow = sC < circLow ? sC : circLow;
}

// ---------------------------------------------------------------------------
// Shape witnesses (decisions.md 37; NODEREC_VALUE_SHAPE_WITNESS, off by
// default). V8 keeps a fast-mode object's own named properties, with their
// kind (data or accessor), in its map: an object with the same map as a
// private object made by the encoder from an object literal of the plan's
// keys has exactly those own named properties, all data properties, and its
// values can be read with plain reads. The map says nothing of elements, so
// plans with an array-index key get no witness (an enumerable element would
// be among the keys). The comparison is a V8 runtime function, compiled
// once with --allow-natives-syntax turned on for that compilation only.
// ---------------------------------------------------------------------------

type SameMapFn = (a: object, b: object) => boolean;
var haveSameMap: SameMapFn | null = null;
var hasFastProps: ((o: object) => boolean) | null = null;
var witnessOn = false;
/** The values a witness-checked object's reader gathers, per level (a
 *  value that is an object is encoded before its siblings are written). */
const wvalsAt: unknown[][] = [];
const NO_VALS: unknown[] = [];
/** The plan whose witness matched last (its `wit` is not null). */
var lastWit: Plan | null = null;
/** encFresh's object has the map of its plan's witness (encWitnessed). */
var witnessed = false;
const WIT_BUILDS = 4;
const WIT_MISSES = 64;
const INDEX_KEY = /^(?:0|[1-9][0-9]*)$/;
const RegExpTest = uncurry<boolean>(RegExp.prototype.test);

/** Fresh objects read with plain reads because of a witness (tests). */
var witnessHits = 0;
export function shapeWitnessHits(): number {
  return witnessHits;
}

/** Turns shape witnesses on (when V8's natives can be compiled) or off;
 *  returns whether they are on. */
export function setShapeWitness(on: boolean): boolean {
  if (on && haveSameMap === null) compileNatives();
  witnessOn = on && haveSameMap !== null && hasFastProps !== null;
  return witnessOn;
}

function compileNatives(): void {
  const src1 = 'return %HaveSameMap(a,b)';
  const src2 = 'return %HasFastProperties(o)';
  let already = true;
  try {
    new FunctionCtor('a', 'b', src1);
  } catch {
    already = false;
  }
  try {
    // The flag is process-wide: on only while these two compile (the
    // program's own code parses as before once it is off again), and left
    // on when the process was started with it.
    if (!already) v8.setFlagsFromString('--allow-natives-syntax');
    try {
      const f = new FunctionCtor('a', 'b', src1) as SameMapFn;
      const g = new FunctionCtor('o', src2) as (o: object) => boolean;
      const x = { a: 1 };
      if (f(x, { a: 2 }) === true && f(x, { b: 1 }) === false && g(x) === true) {
        haveSameMap = f;
        hasFastProps = g;
      }
    } finally {
      if (!already) v8.setFlagsFromString('--no-allow-natives-syntax');
    }
  } catch {
    haveSameMap = null;
    hasFastProps = null;
  }
}

/** Whether plan `p`'s keys allow a witness: no array index, no `__proto__`
 *  (a literal's `__proto__:` sets the prototype). */
function witnessKeys(p: Plan): boolean {
  if (p.witOk === 0) {
    let ok = p.keys.length > 0 && genOk;
    for (let i = 0; ok && i < p.keys.length; i++) {
      const k = p.keys[i];
      if (k === '__proto__' || RegExpTest(INDEX_KEY, k)) ok = false;
    }
    p.witOk = ok ? 1 : 2;
  }
  return p.witOk === 1;
}

/** Makes plan `p`'s witness from the values of `o` (verified: all data
 *  properties, prototype Object.prototype) in `vals`; kept only if it has
 *  fast properties and the map of `o`. A value that is an object is not
 *  kept (the witness would keep it alive): null stands for it. */
function buildWitness(p: Plan, o: object, vals: unknown[]): void {
  p.witBuilds++;
  p.witMiss = 0;
  p.witHits = 0;
  p.wit = null;
  let mk = p.witMk;
  if (mk === null) {
    let src = "'use strict';return {";
    for (let i = 0; i < p.keys.length; i++) src += `${JSONStringify(p.keys[i])}:v[${i}],`;
    try {
      mk = new FunctionCtor('v', `${src}}\n//# sourceURL=noderec://plan-witness`) as (v: unknown[]) => object;
    } catch {
      p.witOk = 2;
      return;
    }
    p.witMk = mk;
  }
  for (let i = 0; i < vals.length; i++) {
    const v = vals[i];
    if ((typeof v === 'object' && v !== null) || typeof v === 'function' || typeof v === 'symbol') vals[i] = null;
  }
  const w = mk(vals);
  if (hasFastProps!(w) && haveSameMap!(w, o)) {
    p.wit = w;
    lastWit = p;
  } else if (lastWit === p) lastWit = null;
}

/** A fresh object (no memo) with the map of plan `p`'s witness, met in
 *  enc(): not a Proxy, not an array, prototype Object.prototype, own named
 *  properties the plan's keys, all data. What encObject and encPlain do for
 *  such an object, without the type checks and the plan lookup; anything
 *  else goes the general way. */
function encWitnessed(o: object, p: Plan): void {
  seenFlag = false;
  if (p.attr !== curAttr || p.gen !== planGen) {
    encPlain(o, 'Object', ObjectPrototype, undefined);
    return;
  }
  if (cutContainer(o, 'Object', ObjectPrototype)) return;
  const total = p.keys.length;
  // Object.keys lists enumerable elements too, which the map does not
  // describe: the same count means there is none, and the keys are the plan's.
  const n = ObjectKeys(o).length;
  encoderWork[0] += n;
  keysTotal = n;
  const limit = itemsBound < budget ? itemsBound : budget;
  if (n !== total || total > limit) {
    encPlain(o, 'Object', ObjectPrototype, undefined);
    return;
  }
  usePlan(p);
  if (refsOn) {
    okAcc = false;
    if (markSeen(p)) putSeen(o);
  }
  witnessed = true;
  encFresh(o, p, 'Object', total);
}

/** Fresh objects of a plan before its writer is made: it pays once V8
 *  optimizes it (an interpreted writer is slower than the optimized
 *  generic loop), and each one made is compile work: only for shapes whose
 *  fresh objects keep coming (decisions.md 41: made at the 256th, the
 *  object-heavy workload at scale 0.05 took 4.4 % more instructions; at
 *  the 4096th, 0.7 %). */
const WRITE_AFTER = 4096;

/** An object written without a memo (met for the first time, or references
 *  off) whose keys all fit (`total` of them, plan `p`): the head and the
 *  keys are the plan's bytes, and each value is read with its descriptor
 *  (with a plain read when the object has the map of the plan's witness). */
function encFresh(o: object, p: Plan, cls: string, total: number): void {
  let head = p.head;
  if (head === null || p.hcls !== cls) head = planHead(p, cls, total - p.drops);
  const kb = p.kbytes, koff = p.koff, acts = p.acts, keys = p.keys;
  // The generated writer, when there is one, writes the head too (constant
  // stores: this loop cost ~35 instructions a byte, its typed arrays'
  // maps and bounds checked at each one; decisions.md 43).
  let wr = p.write;
  if (wr === null && p.wuses < WRITE_AFTER && genOk && ++p.wuses === WRITE_AFTER) wr = p.write = compileWriter(p, head);
  const wh = wr !== null && !witnessOn && p.whead === head ? 1 : 0;
  let b = buf;
  let q = pos;
  if (wh === 0) {
    const hl = p.hlen;
    ensure(hl);
    b = buf;
    q = pos;
    for (let j = 0; j < hl; j++) b[q++] = head[j];
    pos = q;
  }
  const n = total - p.drops;
  budget -= n;
  encoderWork[1] += n;
  pushedAt[level] = ++tick;
  ancestors[level++] = o;
  // A shape witness of the plan with the map of `o`: plain reads (through
  // the compiled reader when there is one).
  let direct = false;
  let want = false;
  const w = p.wit;
  let wvals = NO_VALS;
  if (witnessOn) {
    wvals = wvalsAt[level - 1];
    if (wvals === undefined) wvals = wvalsAt[level - 1] = [];
  }
  if (witnessOn && w !== null) {
    direct = witnessed || haveSameMap!(o, w);
    witnessed = false;
    if (direct) {
      witnessHits++;
      p.witHits++;
      lastWit = p;
      if (p.gather !== null) p.gather(o, wvals);
      else for (let i = 0; i < total; i++) wvals[i] = (o as Record<string, unknown>)[keys[i]];
    } else if (++p.witMiss >= WIT_MISSES) {
      if (p.witBuilds < WIT_BUILDS) want = true;
      else {
        // Made as often as allowed, and still missed more than it matched
        // (objects of these keys made another way: assigned one by one, by
        // spread): no longer compared.
        if (p.witHits < p.witMiss) {
          p.wit = null;
          if (lastWit === p) lastWit = null;
        }
        p.witMiss = 0;
        p.witHits = 0;
      }
    }
  } else want = witnessOn && p.witBuilds < WIT_BUILDS && p.drops === 0 && ObjectGetPrototypeOf(o) === ObjectPrototype && witnessKeys(p);
  let from = 0;
  if (!direct && !want) {
    if (wr !== null) {
      ensure(p.wneed);
      wS.b = buf;
      wS.q = pos;
      from = wr(o, wS, wh);
      buf = wS.b;
      pos = wS.q;
      wS.b = NO_BYTES;
    }
  }
  for (let i = from; i < total; i++) {
    const act = acts[i];
    if (act === 2) {
      filterCounts[7]++;
      continue;
    }
    const a = koff[i], e = koff[i + 1];
    // The key, and room for a primitive value (at most 9 bytes).
    if (pos + e - a + 9 > bufCap) grow(e - a + 9);
    b = buf;
    q = pos;
    for (let j = a; j < e; j++) b[q++] = kb[j];
    let v: unknown;
    if (direct) {
      v = wvals[i];
      pos = q;
    } else {
      const d = ObjectGetOwnPropertyDescriptor(o, keys[i]);
      if (d === undefined) {
        b[q++] = T_UNDEFINED;
        pos = q;
        want = false;
        continue;
      }
      pos = q;
      if (isAccessorDescriptor(d)) {
        encAccessor(d);
        want = false;
        continue;
      }
      v = d.value;
      if (want) wvals[i] = v;
    }
    if (act === 1) {
      filterCounts[3]++;
      putRedacted(v);
    } else {
      // Primitives other than strings are written here (as enc() does).
      if (typeof v === 'number') {
        if ((v | 0) === v && (v !== 0 || 1 / v > 0)) {
          b[q++] = T_INT;
          let z = ((v << 1) ^ (v >> 31)) >>> 0;
          while (z >= 0x80) {
            b[q++] = (z & 0x7f) | 0x80;
            z >>>= 7;
          }
          b[q++] = z;
          pos = q;
        } else {
          b[pos++] = T_FLOAT;
          putF64(v);
        }
      } else if (v === null) b[pos++] = T_NULL;
      else if (v === true) b[pos++] = T_TRUE;
      else if (v === false) b[pos++] = T_FALSE;
      else if (v === undefined) b[pos++] = T_UNDEFINED;
      else enc(v);
    }
  }
  ancestors[--level] = undefined;
  if (want) {
    wvals.length = total;
    buildWitness(p, o, wvals);
  }
  // (the program's values are not kept alive here)
  if (direct || want) for (let i = 0; i < total; i++) wvals[i] = undefined;
  // (no memo: a container inside must not pass for this one)
  verOut = 0;
}

/** A plan's generated writer of a fresh object's keys and values (and,
 *  when asked, its head first): for each key, one descriptor read by a
 *  constant name, the key's bytes as constant stores, and a small int, any
 *  other number (its float64), null, true, false or undefined written
 *  inline; any other value goes through `enc` (wEnc).
 *  Starts at wS.q in wS.b and returns the index of the first key not
 *  written (not an own data property: the caller writes it and the rest),
 *  the key count when all are, with wS.q the position reached. */
type Writer = (o: object, s: { b: Uint8Array; q: number }, h: number) => number;
const NO_BYTES: Uint8Array = new U8(0);
const wS: { b: Uint8Array; q: number } = { b: NO_BYTES, q: 0 };
function wEnc(v: unknown, rest: number): void {
  pos = wS.q;
  enc(v);
  ensure(rest);
  wS.b = buf;
  wS.q = pos;
}

function compileWriter(p: Plan, head: Uint8Array): Writer | null {
  const keys = p.keys, kb = p.kbytes, koff = p.koff, n = keys.length;
  for (let i = 0; i < n; i++) if (p.acts[i] !== 0) return null;
  // With h = 1, the head (`head`, the plan's when the writer is made) first.
  let hw = '';
  const hl = p.hlen;
  for (let j = 0; j < hl; j++) hw += `b[q+${j}]=${head[j]};`;
  let body = `'use strict';return function(o,S,h){let b=S.b,q=S.q,d,v,z;if(h===1){${hw}q+=${hl}}`;
  let rest = 0;
  for (let i = n - 1; i >= 0; i--) rest += koff[i + 1] - koff[i] + 9;
  for (let i = 0; i < n; i++) {
    const kl = koff[i + 1] - koff[i];
    rest -= kl + 9;
    let kw = '';
    for (let j = 0; j < kl; j++) kw += `b[q+${j}]=${kb[koff[i] + j]};`;
    const slow = `{S.q=q;E(v,${rest});b=S.b;q=S.q}`;
    body +=
      `d=G(o,${JSONStringify(keys[i])});if(d===undefined||('get' in d&&H(d,'get'))){S.q=q;return ${i}}v=d.value;${kw}q+=${kl};` +
      `if(typeof v==='number'&&(v|0)===v&&(v!==0||1/v>0)){z=((v<<1)^(v>>31))>>>0;b[q]=4;if(z<128){b[q+1]=z;q+=2}else if(z<16384){b[q+1]=(z&127)|128;b[q+2]=z>>>7;q+=3}else${slow}}` +
      // any other number: tag 5 and its float64 (putNumber's bytes)
      `else if(typeof v==='number'){F[0]=v;b[q]=5;b[q+1]=Y[0];b[q+2]=Y[1];b[q+3]=Y[2];b[q+4]=Y[3];b[q+5]=Y[4];b[q+6]=Y[5];b[q+7]=Y[6];b[q+8]=Y[7];q+=9}` +
      `else if(v===null)b[q++]=1;else if(v===true)b[q++]=3;else if(v===false)b[q++]=2;else if(v===undefined)b[q++]=0;else${slow}`;
  }
  body += `S.q=q;return ${n}}\n//# sourceURL=noderec://plan-write`;
  try {
    const w = (new FunctionCtor('G', 'H', 'E', 'F', 'Y', body) as (g: unknown, h: unknown, e: unknown, f: unknown, y: unknown) => Writer)(
      ObjectGetOwnPropertyDescriptor,
      ObjectHasOwn,
      wEnc,
      f64,
      f64Bytes,
    );
    p.wneed = hl + koff[n] + 9 * n;
    p.whead = head;
    return w;
  } catch {
    genOk = false;
    return null;
  }
}

/** Makes (and keeps in the plan) the head of a complete encoding of class `cls`. */
function planHead(p: Plan, cls: string, n: number): Uint8Array {
  const start = pos;
  putTag(T_OBJECT);
  putStr(cls);
  ensure(20);
  putVarint(n);
  putVarint(n);
  const head = TypedArraySlice(buf, start, pos);
  p.hlen = pos - start;
  pos = start;
  p.head = head;
  p.hcls = cls;
  return head;
}

// ---------------------------------------------------------------------------
// Filters (design-docs/filters.md): redaction markers and `attr:` rules.
// ---------------------------------------------------------------------------

/** What a probe passes instead of a redacted (or dropped: type '') value. */
class Redacted {
  constructor(readonly type: string) {}
}
const RedactedPrototype = Redacted.prototype;
const redactedByType = new Map<string, Redacted>();
/** The marker of a dropped argument (encoded as `redacted` with type ''). */
const DROPPED = new Redacted('');

/** Counts: redacted arg, ret, this, attr; then dropped arg, ret, this, attr. */
const filterCounts = new Float64Array(8);

/** The type name kept by `redact`: typeof for primitives, `null`, or the class name. */
export function typeName(v: unknown): string {
  const t = typeof v;
  if (t === 'object') {
    if (v === null) return 'null';
    if (isProxy(v)) return 'Proxy';
    if (ArrayIsArray(v)) return 'Array';
    return className(ObjectGetPrototypeOf(v) as object | null);
  }
  if (t === 'function' && isProxy(v)) return 'Proxy';
  return t;
}

/** The marker standing for `v` redacted. */
export function redactedMarker(v: unknown): object {
  const t = typeName(v);
  let m: Redacted | undefined = MapGet(redactedByType, t);
  if (m === undefined) {
    m = new Redacted(t);
    if (MapPrototypeGetSize(redactedByType) < 4096) MapSetEntry(redactedByType, t, m);
  }
  return m;
}

// The `attr:` rule set of the function whose values are being encoded
// (0: none). Rule sets are per function (registered by each module's
// prologue); the decision for a key comes from Rust once and is cached.
var curAttr = 0;
/** True once a module registered attr rule sets: probes then select them. */
export let attrOn = false;
var fnAttr = new Int32Array(0);
/** fnAttr's length (a typed array's length is a getter a program can replace). */
var fnAttrLen = 0;
var attrCache: Array<Map<string, number> | undefined> = [];
var attrResolver: (set: number, key: string) => number = () => 0;

/** Installs the native decision for a key (`filterAttr`). */
export function setAttrResolver(fn: (set: number, key: string) => number): void {
  attrResolver = fn;
  attrCache = [];
  planGen++;
  scrubGen = -1;
}

/** Prologue: the attr rule sets of the functions `base`, `base+1`, ...:
 * `set` for `count` functions, or one per function (an array). Returns `base`. */
export function registerAttr(base: number, spec: number | number[], count = 0): number {
  const n = typeof spec === 'number' ? count : spec.length;
  if (fnAttrLen < base + n) {
    let cap = fnAttrLen === 0 ? 4096 : fnAttrLen;
    while (cap < base + n) cap *= 2;
    const nb = new Int32Array(cap);
    TypedArraySet(nb, fnAttr);
    fnAttr = nb;
    fnAttrLen = cap;
  }
  if (typeof spec === 'number') for (let i = 0; i < n; i++) fnAttr[base + i] = spec;
  else for (let i = 0; i < n; i++) fnAttr[base + i] = spec[i];
  attrOn = true;
  return base;
}

/** Selects the attr rule set of function `id` (call probes). */
export function attrFor(id: number): void {
  curAttr = id < fnAttrLen ? fnAttr[id] : 0;
}

/** Selects no attr rules (probes of functions without them). */
export function attrNone(): void {
  curAttr = 0;
}

function keyAction(k: string): number {
  if (curAttr === 0) return 0;
  let m = attrCache[curAttr];
  if (m === undefined) {
    m = new MapCtor<string, number>();
    attrCache[curAttr] = m;
  }
  let a: number | undefined = MapGet(m, k);
  if (a === undefined) {
    try {
      a = attrResolver(curAttr, k);
    } catch {
      a = 0;
    }
    if (MapPrototypeGetSize(m) > 50000) MapClear(m);
    MapSetEntry(m, k, a);
  }
  return a;
}

/** The action for key `k` of `o`: the environment's allow-list for
 * `process.env` (secrets.ts), else the attr rules. */
function objectKeyAction(o: object, k: string): number {
  const env = envKeyAction(o, k);
  return env >= 0 ? env : keyAction(k);
}

/** The attr rules' action for a key under the current rule set (secrets.ts
 * checks query parameter and header names with it). */
export function currentKeyAction(k: string): number {
  return keyAction(k);
}

function putRedacted(v: unknown): void {
  putTag(T_REDACTED);
  putStr(typeName(v));
  // An object's type is the class name of its prototype, which can change:
  // the parent's memo keeps the prototype's marker, as for a container cut
  // by the depth bound (ctx21: identity alone let a reference keep the old
  // name). (An array's and a Proxy's type never change.)
  if (typeof v === 'object' && v !== null && level > 0 && !ArrayIsArray(v) && !isProxy(v)) {
    verOut = TRUNC_VER;
    memOut = truncMark(ObjectGetPrototypeOf(v) as object | null);
  }
}

/** Writes the header of a map or set (tag, size, kept count), makes `o` the
 *  current ancestor, and returns how many entries to write. */
function openSized(tag: number, size: number, o: object): number {
  const n = take(size);
  ensure(21);
  buf[pos++] = tag;
  putVarint(size);
  putVarint(n);
  pushedAt[level] = ++tick;
  ancestors[level++] = o;
  return n;
}

/** The kept entries of map `mp` are those its memo saw (keys and values
 *  interleaved in vals; insertion order is iteration order). */
function sameMap(mp: object, m: Memo): boolean {
  if (checkedNow(m)) return true;
  if (!readMap(mp, m)) return false;
  m.chk = tick;
  return true;
}

function readMap(mp: object, m: Memo): boolean {
  if (MapPrototypeGetSize(mp) !== m.total) return false;
  const n = m.scan;
  const vals = m.vals, vers = m.vers, mems = m.mems;
  encoderWork[1] += n;
  const it = MapPrototypeEntries(mp);
  for (let i = 0; i < n; i++) {
    const r = MapIteratorNext(it);
    if (r.done === true) return false;
    const e = r.value;
    if (!sameValue(e[0], vals[2 * i], vers[2 * i], mems[2 * i]) || !sameValue(e[1], vals[2 * i + 1], vers[2 * i + 1], mems[2 * i + 1])) return false;
  }
  return true;
}

function sameSet(st: object, m: Memo): boolean {
  if (checkedNow(m)) return true;
  if (!readSet(st, m)) return false;
  m.chk = tick;
  return true;
}

function readSet(st: object, m: Memo): boolean {
  if (SetPrototypeGetSize(st) !== m.total) return false;
  const n = m.scan;
  const vals = m.vals, vers = m.vers, mems = m.mems;
  encoderWork[1] += n;
  const it = SetPrototypeValues(st);
  for (let i = 0; i < n; i++) {
    const r = SetIteratorNext(it);
    if (r.done === true || !sameValue(r.value, vals[i], vers[i], mems[i])) return false;
  }
  return true;
}

/** Whether a map or set met before can be referred to, or gets a memo now
 *  (met for the second time), as for arrays; returns the memo or undefined. */
function sizedMemo(o: object, m: Memo | undefined, kind: number, seen: boolean): Memo | undefined {
  if (!refsOn) return undefined;
  if (m === undefined) {
    if (!seen) {
      putSeen(o);
      // Written without a memo: whatever contains it cannot be referred to.
      okAcc = false;
      return undefined;
    }
    const size = kind === K_MAP ? MapPrototypeGetSize(o) : SetPrototypeGetSize(o);
    m = putMemo(o, kind, (kind === K_MAP ? 2 : 1) * (size < itemsBound ? size : itemsBound));
  }
  return m;
}

/** A map entry's value, by the attr rules on string keys: a dropped entry
 *  keeps its key and loses its value like a redacted one with no type (Map
 *  sizes stay). */
function encMapValue(k: unknown, v: unknown): void {
  if (curAttr !== 0 && typeof k === 'string') {
    const act = keyAction(k);
    if (act === 1) {
      filterCounts[3]++;
      putRedacted(v);
      return;
    }
    if (act === 2) {
      filterCounts[7]++;
      putTag(T_REDACTED);
      putStr('');
      return;
    }
  }
  enc(v);
}

function encMap(mp: object, m: Memo | undefined): void {
  if (cutContainer(mp, null, UNREAD)) return;
  const seen = seenFlag;
  seenFlag = false;
  if (m !== undefined && refsOn && !canRef(m)) m = ctxMemo(m);
  if (m !== undefined && refsOn && canRef(m) && MapPrototypeGetSize(mp) === m.total && worthChecking(m) && checked(m, sameMap(mp, m))) {
    putRef(m);
    return;
  }
  m = sizedMemo(mp, m, K_MAP, seen);
  const off = pos;
  const b0 = budget;
  const size = MapPrototypeGetSize(mp);
  const myLevel = level;
  const n = openSized(T_MAP, size, mp);
  const it = MapPrototypeEntries(mp);
  if (m === undefined) {
    for (let i = 0; i < n; i++) {
      const r = MapIteratorNext(it);
      if (r.done === true) {
        putTag(T_UNDEFINED);
        putTag(T_UNDEFINED);
      } else {
        const entry = r.value;
        enc(entry[0]);
        encMapValue(entry[0], entry[1]);
      }
    }
    ancestors[--level] = undefined;
    verOut = 0;
    return;
  }
  const sOk = okAcc, sDeep = deepAcc, sH = hAcc, sC = circLow;
  okAcc = true;
  deepAcc = false;
  hAcc = 0;
  circLow = 1 << 30;
  const r0 = filterCounts[3], d0 = filterCounts[7];
  const vals = m.vals, vers = m.vers, mems = m.mems;
  for (let i = 0; i < n; i++) {
    const r = MapIteratorNext(it);
    if (r.done === true) {
      // (no program code runs while a map is read: not expected)
      putTag(T_UNDEFINED);
      putTag(T_UNDEFINED);
      vals[2 * i] = MISSING_ID;
      vals[2 * i + 1] = MISSING_ID;
      vers[2 * i] = vers[2 * i + 1] = 0;
      mems[2 * i] = mems[2 * i + 1] = null;
      okAcc = false;
      continue;
    }
    const entry = r.value;
    const k = entry[0], v = entry[1];
    verOut = 0;
    enc(k);
    vals[2 * i] = k;
    vers[2 * i] = verOut;
    mems[2 * i] = verOut !== 0 ? memOut : null;
    verOut = 0;
    encMapValue(k, v);
    vals[2 * i + 1] = v;
    vers[2 * i + 1] = verOut;
    mems[2 * i + 1] = verOut !== 0 ? memOut : null;
  }
  if (vals.length !== 2 * n) vals.length = 2 * n;
  if (vers.length !== 2 * n) vers.length = 2 * n;
  if (mems.length !== 2 * n) mems.length = 2 * n;
  ancestors[--level] = undefined;
  closeSized(m, off, b0, myLevel, size, n, r0, d0, sOk, sDeep, sH, sC);
}

function encSet(st: object, m: Memo | undefined): void {
  if (cutContainer(st, null, UNREAD)) return;
  const seen = seenFlag;
  seenFlag = false;
  if (m !== undefined && refsOn && !canRef(m)) m = ctxMemo(m);
  if (m !== undefined && refsOn && canRef(m) && SetPrototypeGetSize(st) === m.total && worthChecking(m) && checked(m, sameSet(st, m))) {
    putRef(m);
    return;
  }
  m = sizedMemo(st, m, K_SET, seen);
  const off = pos;
  const b0 = budget;
  const size = SetPrototypeGetSize(st);
  const myLevel = level;
  const n = openSized(T_SET, size, st);
  const it = SetPrototypeValues(st);
  if (m === undefined) {
    for (let i = 0; i < n; i++) {
      const r = SetIteratorNext(it);
      if (r.done === true) putTag(T_UNDEFINED);
      else enc(r.value);
    }
    ancestors[--level] = undefined;
    return;
  }
  const sOk = okAcc, sDeep = deepAcc, sH = hAcc, sC = circLow;
  okAcc = true;
  deepAcc = false;
  hAcc = 0;
  circLow = 1 << 30;
  const r0 = filterCounts[3], d0 = filterCounts[7];
  const vals = m.vals, vers = m.vers, mems = m.mems;
  for (let i = 0; i < n; i++) {
    const r = SetIteratorNext(it);
    verOut = 0;
    if (r.done === true) {
      putTag(T_UNDEFINED);
      vals[i] = MISSING_ID;
      okAcc = false;
    } else {
      const v = r.value;
      enc(v);
      vals[i] = v;
    }
    vers[i] = verOut;
    mems[i] = verOut !== 0 ? memOut : null;
  }
  if (vals.length !== n) vals.length = n;
  if (vers.length !== n) vers.length = n;
  if (mems.length !== n) mems.length = n;
  ancestors[--level] = undefined;
  closeSized(m, off, b0, myLevel, size, n, r0, d0, sOk, sDeep, sH, sC);
}

/** Closes the memo of a map or set encoding (as encArray does). */
function closeSized(
  m: Memo,
  off: number,
  b0: number,
  myLevel: number,
  size: number,
  n: number,
  r0: number,
  d0: number,
  sOk: boolean,
  sDeep: boolean,
  sH: number,
  sC: number,
): void {
  m.proto = null;
  m.total = size;
  m.scan = n;
  m.red = (filterCounts[3] - r0) | 0;
  m.drp = (filterCounts[7] - d0) | 0;
  closeMemo(m, off, b0 - budget, myLevel);
  verOut = m.ok ? m.ver : 0;
  memOut = m;
  okAcc = sOk && m.ok;
  deepAcc = sDeep || deepAcc;
  hAcc = sH > m.height ? sH : m.height;
  circLow = sC < circLow ? sC : circLow;
}

function encError(e: object, proto: object): void {
  putTag(T_ERROR);
  putStr(className(proto));
  const md = ObjectGetOwnPropertyDescriptor(e, 'message');
  let msg = '';
  if (md !== undefined && !isAccessorDescriptor(md) && typeof md.value === 'string') {
    msg = md.value;
  }
  putStr(scrubString(msg));
}

function encRegExp(r: object): void {
  putTag(T_REGEXP);
  putStr(RegExpPrototypeGetSource(r));
  let flags = '';
  for (let i = 0; i < 8; i++) {
    const g = RegExpFlagGetters[i];
    if (g !== undefined && g(r) === true) flags += RegExpFlagChars[i];
  }
  putStr(flags);
}

function encBytes(o: object, proto: object): void {
  let buffer: ArrayBufferLike | null = null;
  let offset = 0;
  let byteLen = 0;
  let length = 0;
  if (isTypedArray(o)) {
    buffer = TypedArrayGetBuffer(o);
    offset = TypedArrayGetByteOffset(o);
    byteLen = TypedArrayGetByteLength(o);
    length = TypedArrayGetLength(o);
  } else if (isArrayBufferView(o)) {
    // DataView: its getters throw on a detached buffer.
    try {
      buffer = DataViewGetBuffer(o);
      offset = DataViewGetByteOffset(o);
      byteLen = DataViewGetByteLength(o);
    } catch {
      buffer = null;
      offset = 0;
      byteLen = 0;
    }
    length = byteLen;
  } else {
    buffer = o as ArrayBufferLike;
    if (isSharedArrayBuffer(o)) {
      byteLen = SharedArrayBufferGetByteLength !== undefined ? SharedArrayBufferGetByteLength(o) : 0;
    } else {
      byteLen = ArrayBufferGetByteLength(o);
    }
    length = byteLen;
  }
  const n = byteLen < itemsBound ? byteLen : itemsBound;
  putTag(T_BYTES);
  putStr(className(proto));
  ensure(20 + n);
  putVarint(length);
  if (n > 0 && buffer !== null) {
    putVarint(n);
    const view = new U8(buffer, offset, n);
    const b = buf;
    let p = pos;
    for (let i = 0; i < n; i++) b[p++] = view[i];
    pos = p;
  } else {
    putVarint(0);
  }
}

// ---------------------------------------------------------------------------
// Entry points.
// ---------------------------------------------------------------------------

function encTop(v: unknown): void {
  loadArena();
  // A single container may always keep `itemsBound` entries.
  // No limit is a finite budget no value can spend (2^52: the differences
  // the encoder takes of it stay exact, where Infinity - Infinity is NaN).
  budget = budgetBound > 0 ? (budgetBound > itemsBound ? budgetBound : itemsBound) : NO_BUDGET_LIMIT;
  const start = pos;
  level = 0;
  topTick = ++tick;
  selfOk = false;
  arrChain = 0;
  if (memoUsed > memoBudget) newGeneration();
  okAcc = true;
  deepAcc = false;
  hAcc = 0;
  circLow = 1 << 30;
  try {
    enc(v);
  } catch {
    epoch++;
    // Should not happen; never let the recorder throw into the program.
    // The value is replaced by `opaque "?"`.
    for (let i = 0; i < ancestors.length; i++) ancestors[i] = undefined;
    level = 0;
    rdepth = 0;
    pos = start;
    encOpaque('?');
  }
  arenaState.buf = buf;
  arenaState.pos = pos;
}

/** Appends an unsigned LEB128 varint (n an integer in 0..2^53) to the arenaState. */
export function writeVarint(n: number): void {
  loadArena();
  putVarintChecked(n);
  arenaState.buf = buf;
  arenaState.pos = pos;
}

/** Appends one encoded value at `arenaState.pos`, growing `arenaState.buf` if needed. */
export function writeValue(v: unknown): void {
  encTop(v);
}

var thisDepth = 0;

/** Entries one value may spend across all its containers (default 1024,
 *  never less than the items bound; 0 = no limit): bounds the cost of
 *  recording a large object graph. */
export function setValueBudget(entries: number): void {
  budgetBound = entries > 0 ? entries | 0 : 0;
}

/** Depth bound for `this` (default 0: the class name only). Recording the
 *  receiver's properties at every method call costs more than everything
 *  else together on object-heavy code, so it is opt-in. */
export function setThisDepth(depth: number): void {
  thisDepth = depth > 0 ? (depth < MAX_DEPTH ? depth | 0 : MAX_DEPTH) : 0;
  thisCacheUpdate();
}

// Receivers recorded at depth 0 (issue 9). A method call's `this` at depth
// 0 is `truncated` with its class name, or, for an object of a built-in
// kind (error, date, regexp, binary data, opaque), that kind's own
// encoding; classifying it costs a dozen util.types calls, which made a
// method call ten times as dear as a function call. The last THIS_SLOTS
// receivers whose encoding was `truncated` are kept with their prototype
// and those bytes: an object's kind and whether it is a Proxy never change,
// and the class name is a function of the prototype (className caches it
// per prototype), so the same object with the same prototype encodes to the
// same bytes. Each call reads the prototype again (no trap: not a Proxy);
// another prototype is a miss and goes through the full encoder. The slots
// hold strong references only until the batch is handed over (resetArena),
// and are off with references (NODEREC_VALUE_REFS=0, the differential
// tests' baseline).
const THIS_SLOTS = 4;
/** An empty slot (never a receiver). */
const NO_THIS = {};
var thisObjs: unknown[] = new Array(THIS_SLOTS).fill(NO_THIS);
var thisProtos: unknown[] = new Array(THIS_SLOTS).fill(undefined);
var thisBytes: Uint8Array[] = new Array(THIS_SLOTS).fill(new U8(0));
/** thisBytes[i]'s length (a typed array's length is a getter a program can replace). */
var thisLens: number[] = new Array(THIS_SLOTS).fill(0);
var thisNext = 0;
var lastProto: unknown = undefined;
var lastBytes: Uint8Array = new U8(0);
var lastLen = 0;
/** The effective `this` depth is 0 and references are on (see thisFast). */
var thisCacheOn = true;
// Receivers kept since the last hit, and receivers left to encode without
// looking at the cache: a program whose method calls go to ever other
// receivers (the cache only misses) stops keeping them for THIS_REST
// receivers after THIS_MISSES misses in a row.
const THIS_MISSES = 16;
const THIS_REST = 64;
var thisMisses = 0;
var thisRest = 0;

function thisCacheUpdate(): void {
  thisCacheOn = refsOn && (depthBound < thisDepth ? depthBound : thisDepth) === 0;
}

function clearThisCache(): void {
  for (let i = 0; i < THIS_SLOTS; i++) {
    thisObjs[i] = NO_THIS;
    thisProtos[i] = undefined;
  }
  lastProto = undefined;
  thisMisses = 0;
  thisRest = 0;
}

/** Writes the cached encoding of receiver `o` at depth 0; false on a miss. */
function thisHit(o: object): boolean {
  let i = 0;
  for (; i < THIS_SLOTS; i++) if (thisObjs[i] === o) break;
  if (i === THIS_SLOTS || ObjectGetPrototypeOf(o) !== thisProtos[i]) return false;
  thisMisses = 0;
  const bytes = thisBytes[i];
  const n = thisLens[i];
  loadArena();
  ensure(n);
  const b = buf;
  let p = pos;
  for (let j = 0; j < n; j++) b[p++] = bytes[j];
  arenaState.buf = b;
  arenaState.pos = p;
  return true;
}

/** The method probes' fast path (probes.ts, m0..m3): writes the cached
 *  depth-0 encoding of receiver `o` at `p` of the arena `b` and returns
 *  the end, or -1 when `o` is not one of the cached receivers with the
 *  same prototype (the probe then takes the general path, which encodes
 *  it and keeps it). At most 1024 bytes (the probes' arena headroom is
 *  64 KiB). */
export function thisFast(b: Uint8Array, p: number, o: unknown): number {
  if (thisCacheOn !== true) return -1;
  let i = 0;
  for (; i < THIS_SLOTS; i++) if (thisObjs[i] === o) break;
  // A kept receiver is an object and not a Proxy: no trap.
  if (i === THIS_SLOTS || ObjectGetPrototypeOf(o) !== thisProtos[i]) return -1;
  const bytes = thisBytes[i];
  const n = thisLens[i];
  if (n > 1024) return -1;
  thisMisses = 0;
  for (let j = 0; j < n; j++) b[p++] = bytes[j];
  return p;
}

/** Keeps receiver `o` whose depth-0 encoding was just written at `start`. */
function thisFill(o: object, start: number): void {
  const b = arenaState.buf;
  // Only `truncated` (a container: its class name): a Proxy, an error, a
  // date and the other kinds written in full are encoded at every call.
  if (b[start] !== T_TRUNCATED) return;
  if (++thisMisses >= THIS_MISSES) {
    thisMisses = 0;
    thisRest = THIS_REST;
  }
  // Not a Proxy (that is written `proxy`): no trap.
  const proto = ObjectGetPrototypeOf(o);
  if (proto !== lastProto) {
    lastBytes = TypedArraySlice(b, start, arenaState.pos);
    lastLen = arenaState.pos - start;
    lastProto = proto;
  }
  const i = thisNext;
  thisNext = i + 1 === THIS_SLOTS ? 0 : i + 1;
  thisObjs[i] = o;
  thisProtos[i] = proto;
  thisBytes[i] = lastBytes;
  thisLens[i] = lastLen;
}

/** Like `writeValue` with the `this` depth bound (default 0: class name only). */
export function writeValueShallow(v: unknown): void {
  const saved = depthBound;
  const d = saved < thisDepth ? saved : thisDepth;
  if (d === 0 && refsOn && typeof v === 'object' && v !== null) {
    if (thisRest !== 0) {
      thisRest--;
      depthBound = 0;
      encTop(v);
      depthBound = saved;
      return;
    }
    if (thisHit(v)) return;
    const start = arenaState.pos;
    depthBound = 0;
    encTop(v);
    depthBound = saved;
    thisFill(v, start);
    return;
  }
  depthBound = d;
  encTop(v);
  depthBound = saved;
}

/** Makes the arena at least `bytes` long (the probes keep headroom in it). */
export function reserveArena(bytes: number): void {
  if (TypedArrayGetLength(arenaState.buf) < bytes) {
    const nb = new U8(bytes);
    TypedArraySet(nb, u8View(arenaState.buf, 0, arenaState.pos));
    arenaState.buf = nb;
  }
}

export { encoderWork, filterCounts, DROPPED };

/** Built-ins as captured at start, for the probes (a program may replace
 *  them: a typed array's `length` is a getter of %TypedArray%.prototype;
 *  decisions.md 49, 50). */
export const builtins = {
  len: TypedArrayGetLength,
  set: TypedArraySet,
  view: u8View,
  U8,
  /** String.prototype.charCodeAt as captured at start. */
  charCodeAt: StringPrototypeCharCodeAt,
  /** Map and its methods as captured at start. */
  Map: MapCtor,
  mapGet: MapGet,
  mapSet: MapSetEntry,
  mapDelete: MapDelete,
  mapClear: MapClear,
  mapSize: MapPrototypeGetSize,
};
