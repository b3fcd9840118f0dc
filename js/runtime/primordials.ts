// Built-ins captured when noderec loads, before the program runs (decision
// 54). The recorder's own code (output capture, logger, uncaught-error
// report, Worker proxy, module hooks, bridges) calls these, never a method
// looked up on a prototype or a global at run time: a program may replace
// any of those, and its replacement is the program's (instrumented) code —
// it would run, print or count inside the recorder, and the recorded program
// would behave differently from the plain one.
//
// The probes and the value encoder keep their own captures (value-encoder.ts
// `builtins`, decisions 49 and 50).
//
// Rules for the recorder's code that runs while the program runs:
// - methods through the uncurried forms below (`StringPrototypeSplit(s, x)`,
//   not `s.split(x)`); a function of ours called with a `this` through
//   `ReflectApply`;
// - no regular expression method but `RegExpPrototypeExec` (`test`, `split`,
//   `replace`, `match`, `matchAll` with a RegExp look up `exec` on it, which
//   the program may replace): `reTest`, `splitLines` below;
// - no for-of, spread, destructuring of arrays, `push`/`pop`/`splice` on our
//   own arrays: index loops and `a[a.length] = x` (the array iterator and
//   Array.prototype's methods are replaceable);
// - `isUint8Array` instead of `instanceof Uint8Array` (Symbol.hasInstance).
import { EventEmitter } from 'node:events';
import * as util from 'node:util';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyFn = (...args: any[]) => any;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Uncurried<R> = (self: any, ...args: any[]) => R;

const FunctionPrototypeCall = Function.prototype.call;
const FunctionPrototypeBind = Function.prototype.bind;

/** `uncurry(f)(self, ...a)` === `f.call(self, ...a)`, immune to later changes
 * of `Function.prototype.call`. */
export function uncurry<R>(fn: AnyFn): Uncurried<R> {
  return FunctionPrototypeBind.call(FunctionPrototypeCall, fn) as Uncurried<R>;
}

/** `bindTo(o.f, o)(...a)` === `o.f(...a)` as `o.f` was at start. */
function bindTo<F extends AnyFn>(fn: F, self: unknown): F {
  return FunctionPrototypeBind.call(fn, self) as F;
}

export const ObjectGetOwnPropertyDescriptor = Object.getOwnPropertyDescriptor;
export const ObjectDefineProperty = Object.defineProperty;
export const ObjectCreate = Object.create;
export const ObjectGetPrototypeOf = Object.getPrototypeOf;
export const ObjectGetOwnPropertySymbols = Object.getOwnPropertySymbols;
export const ObjectPrototypeHasOwnProperty = uncurry<boolean>(Object.prototype.hasOwnProperty);

/** The getter `key` of `proto`, uncurried; throws when it is missing. */
export function getter<R>(proto: object, key: PropertyKey): Uncurried<R> {
  const d = ObjectGetOwnPropertyDescriptor(proto, key);
  if (d === undefined || typeof d.get !== 'function') throw new Error(`noderec: missing built-in getter ${String(key)}`);
  return uncurry<R>(d.get);
}

export const ReflectApply = Reflect.apply;
export const ReflectConstruct = Reflect.construct;
export const JSONStringify = JSON.stringify;
export const JSONParse = JSON.parse;
export const DateNow = Date.now;
export const ArrayIsArray = Array.isArray;

export const StringPrototypeCharCodeAt = uncurry<number>(String.prototype.charCodeAt);
export const StringPrototypeSlice = uncurry<string>(String.prototype.slice);
export const StringPrototypeStartsWith = uncurry<boolean>(String.prototype.startsWith);
export const StringPrototypeEndsWith = uncurry<boolean>(String.prototype.endsWith);
export const StringPrototypeIncludes = uncurry<boolean>(String.prototype.includes);
export const StringPrototypeIndexOf = uncurry<number>(String.prototype.indexOf);
/** With a string separator only (a RegExp separator looks up `exec`). */
export const StringPrototypeSplit = uncurry<string[]>(String.prototype.split);
export const RegExpPrototypeExec = uncurry<RegExpExecArray | null>(RegExp.prototype.exec);
export const ArrayPrototypeSlice = uncurry<unknown[]>(Array.prototype.slice);
export const ArrayPrototypeJoin = uncurry<string>(Array.prototype.join);

export const WeakMapPrototypeGet = uncurry<unknown>(WeakMap.prototype.get);
export const WeakMapPrototypeSet = uncurry<unknown>(WeakMap.prototype.set);
export const WeakMapPrototypeHas = uncurry<boolean>(WeakMap.prototype.has);
export const WeakMapPrototypeDelete = uncurry<boolean>(WeakMap.prototype.delete);
export const MapPrototypeGet = uncurry<unknown>(Map.prototype.get);
export const MapPrototypeSet = uncurry<unknown>(Map.prototype.set);
export const MapPrototypeHas = uncurry<boolean>(Map.prototype.has);
export const MapPrototypeDelete = uncurry<boolean>(Map.prototype.delete);

const TypedArrayPrototype = ObjectGetPrototypeOf(Uint8Array.prototype) as object;
export const TypedArrayPrototypeGetLength = getter<number>(TypedArrayPrototype, 'length');
export const TypedArrayPrototypeGetBuffer = getter<ArrayBufferLike>(TypedArrayPrototype, 'buffer');
export const U8 = Uint8Array;
export const TypedArrayPrototypeSet = uncurry<void>((TypedArrayPrototype as { set: AnyFn }).set);
export const TypedArrayPrototypeCopyWithin = uncurry<unknown>((TypedArrayPrototype as { copyWithin: AnyFn }).copyWithin);
export const TypedArrayPrototypeSlice = uncurry<Uint8Array>((TypedArrayPrototype as { slice: AnyFn }).slice);
export const TypedArrayPrototypeLastIndexOf = uncurry<number>((TypedArrayPrototype as { lastIndexOf: AnyFn }).lastIndexOf);
export const TypedArrayPrototypeIndexOf = uncurry<number>((TypedArrayPrototype as { indexOf: AnyFn }).indexOf);
export const isUint8Array = util.types.isUint8Array;

export const BufferPrototypeWrite = uncurry<number>(Buffer.prototype.write);
/** `buf.utf8Write(s, offset, length)`: Node's own, with every argument given
 * (Buffer#write reads `this.length`). */
export const BufferPrototypeUtf8Write = uncurry<number>((Buffer.prototype as unknown as { utf8Write: AnyFn }).utf8Write);
export const BufferPrototypeToString = uncurry<string>(Buffer.prototype.toString);
export const BufferPrototypeReadUInt32LE = uncurry<number>(Buffer.prototype.readUInt32LE);
export const BufferFrom = bindTo(Buffer.from, Buffer) as typeof Buffer.from;
export const BufferAllocUnsafeSlow = bindTo(Buffer.allocUnsafeSlow, Buffer) as typeof Buffer.allocUnsafeSlow;
export const BufferIsEncoding = bindTo(Buffer.isEncoding, Buffer) as typeof Buffer.isEncoding;

export const EventEmitterPrototypeOn = uncurry<unknown>(EventEmitter.prototype.on);
export const EventEmitterPrototypePrependListener = uncurry<unknown>(EventEmitter.prototype.prependListener);
export const EventEmitterPrototypeListenerCount = uncurry<number>(EventEmitter.prototype.listenerCount);
export const EventEmitterPrototypeRemoveListener = uncurry<unknown>(EventEmitter.prototype.removeListener);

const FunctionPrototypeApply = Function.prototype.apply;
/** A listener of ours on an emitter the program sees (process, its streams):
 * Node's EventEmitter#emit calls `listener.apply(this, args)`, which would
 * find the program's Function.prototype.apply; an own `apply` (the one
 * captured at start) is found first. Returns `fn`. */
export function ownApply<F extends AnyFn>(fn: F): F {
  ObjectDefineProperty(fn, 'apply', { value: FunctionPrototypeApply, configurable: true, writable: true });
  return fn;
}

/** `re.test(s)` without looking up `exec` on `re` (a RegExp without the `g`
 * or `y` flag: `lastIndex` is neither read nor written). */
export function reTest(re: RegExp, s: string): boolean {
  return RegExpPrototypeExec(re, s) !== null;
}

/** `s.split(/\r\n|\r|\n|\u2028|\u2029/)`, with no RegExp. */
export function splitLines(s: string): string[] {
  const out: string[] = [];
  let from = 0;
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = StringPrototypeCharCodeAt(s, i);
    if (c === 10 || c === 13 || c === 0x2028 || c === 0x2029) {
      out[out.length] = StringPrototypeSlice(s, from, i);
      if (c === 13 && i + 1 < n && StringPrototypeCharCodeAt(s, i + 1) === 10) i++;
      from = i + 1;
    }
  }
  out[out.length] = StringPrototypeSlice(s, from);
  return out;
}
