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
// differs for texts that hold a probe (`__nr$`; a class whose only probes
// are field initializers has no `$nr$a`): the original text is
// computed in Rust (instrument/original.rs) once per function.
//
// It is compiled in the realm whose Function.prototype it replaces (this
// one, or a test runner's vm context, js/runtime/global-binding.ts), so that
// it is a function of that realm, with that realm's builtins captured.
// Functions of ours standing in for builtins (js/runtime/definers.ts) give
// the builtin's text through `nativeTexts`.
import * as vm from 'node:vm';

import { native } from '../native';
import { nativeTexts } from './definers';

/** Installs the replacement in the realm that evaluates it, given the
 * function that computes an original text. Everything it uses is captured
 * when it runs: the program may replace any of it later. */
const INSTALL = `(function (original, texts) {
  'use strict';
  const proto = Function.prototype;
  const desc = Object.getOwnPropertyDescriptor(proto, 'toString');
  if (desc === undefined || typeof desc.value !== 'function' || desc.configurable !== true) return;
  const nativeToString = desc.value;
  const apply = Reflect.apply;
  const indexOf = String.prototype.indexOf;
  const cacheGet = WeakMap.prototype.get;
  const cacheSet = WeakMap.prototype.set;
  const cache = new WeakMap();
  const ownText = apply(nativeToString, nativeToString, []);
  const replacement = {
    toString() {
      if (this === replacement) return ownText;
      const t = apply(cacheGet, texts, [this]);
      if (t !== undefined) return t;
      const text = apply(nativeToString, this, []);
      if (apply(indexOf, text, ['__nr$']) === -1) return text;
      let o = apply(cacheGet, cache, [this]);
      if (o === undefined) {
        o = original(text);
        apply(cacheSet, cache, [this, o]);
      }
      return o;
    },
  }.toString;
  Object.defineProperty(proto, 'toString', { value: replacement, writable: desc.writable, enumerable: desc.enumerable, configurable: true });
})`;

const FILENAME = 'noderec:function-source';

type Install = (o: typeof original, texts: WeakMap<object, string>) => void;

/** The original text of an instrumented function's text (itself on error). */
function original(text: string): string {
  try {
    return native().originalSource(text) ?? text;
  } catch {
    return text;
  }
}

let installed = false;

/** Replaces Function.prototype.toString in this realm (once). */
export function installFunctionSource(): void {
  if (installed) return;
  installed = true;
  (vm.runInThisContext(INSTALL, { filename: FILENAME }) as Install)(original, nativeTexts);
}

/** Replaces Function.prototype.toString in a vm context (once per context:
 * the caller declares the runtime there first, which happens once). */
let installScript: vm.Script | null = null;
export function installFunctionSourceIn(context: vm.Context): void {
  // compiled once for all contexts (every context the program creates gets it)
  if (installScript === null) installScript = new vm.Script(INSTALL, { filename: FILENAME });
  (installScript.runInContext(context) as Install)(original, nativeTexts);
}
