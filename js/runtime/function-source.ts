// Function.prototype.toString gives the original text of instrumented
// functions (issue 8): code that ships a function's source to another realm
// (vm.runInNewContext('(' + f + ')()'), new Worker(src, { eval: true }),
// browser automation's evaluate(fn)) or reads its parameter names (dependency
// injection) must see what the program wrote, not the probes.
//
// The replacement is indistinguishable from the builtin where a program can
// look: same name, length, property attributes and position, no prototype,
// its own text is `function toString() { [native code] }`, and it throws the
// builtin's own TypeError for a receiver that is not a function. It only
// differs for texts that hold a probe (`$nr$a`): the original text is
// computed in Rust (instrument/original.rs) once per function.
import { native } from '../native';

let installed = false;

/** Replaces Function.prototype.toString in this realm (once). */
export function installFunctionSource(): void {
  if (installed) return;
  installed = true;
  const proto = Function.prototype;
  const desc = Object.getOwnPropertyDescriptor(proto, 'toString');
  if (desc === undefined || typeof desc.value !== 'function' || desc.configurable !== true) return;
  const nativeToString = desc.value as (this: unknown) => string;
  // Captured now: the program may replace any of these later.
  const apply = Reflect.apply;
  const indexOf = String.prototype.indexOf;
  const cacheGet = WeakMap.prototype.get;
  const cacheSet = WeakMap.prototype.set;
  const cache = new WeakMap<object, string>();
  const ownText = apply(nativeToString, nativeToString, []) as string;
  const original = (text: string): string => {
    try {
      return native().originalSource(text) ?? text;
    } catch {
      return text;
    }
  };
  const replacement = {
    toString(this: unknown): string {
      if (this === replacement) return ownText;
      const text = apply(nativeToString, this, []) as string;
      if (apply(indexOf, text, ['$nr$a']) === -1) return text;
      let o = apply(cacheGet, cache, [this]) as string | undefined;
      if (o === undefined) {
        o = original(text);
        apply(cacheSet, cache, [this, o]);
      }
      return o;
    },
  }.toString;
  Object.defineProperty(proto, 'toString', { value: replacement, writable: desc.writable, enumerable: desc.enumerable, configurable: true });
}
