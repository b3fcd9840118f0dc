// The property definers, wrapped so that the value encoder may trust what it
// verified (design-docs/values.md, "Trusted objects"; decisions.md 12).
//
// An existing object gains an own accessor property only through a definer:
// Object.defineProperty, Object.defineProperties, Reflect.defineProperty,
// Object.prototype.__defineGetter__ and __defineSetter__ (assignment, Object.assign,
// spread, JSON.parse, array methods all create data properties; object
// literals with `get x()` and Object.create create new objects, which the
// encoder has not verified). Each wrapper tells the encoder that its target
// may have changed (one WeakMap lookup) and calls the builtin.
//
// The wrappers look like the builtins where a program can look: same name,
// length and property attributes, not constructors, no `prototype`, and
// Function.prototype.toString (js/runtime/function-source.ts) gives the
// builtin's text (`function defineProperty() { [native code] }`) through
// `nativeTexts`. What shows: when the builtin throws (a non-object target, a
// non-configurable property), the error's stack has one more frame, the
// wrapper's (`at defineProperty (noderec:definers:1:…)`), under the builtin's
// own `at Function.defineProperty (<anonymous>)`; and when such an error is
// uncaught, Node's report shows the wrapper's source line instead of the
// program's (the message location is that of the innermost script frame).
//
// Compiled in the realm whose builtins it replaces (this one, or a test
// runner's vm context that the integration declares the runtime in), with
// that realm's builtins captured before any program code runs.
import * as vm from 'node:vm';

/** Wrapper → the builtin text Function.prototype.toString gives for it. */
export const nativeTexts = new WeakMap<object, string>();

const INSTALL = `(function (untrust, texts) {
  'use strict';
  const O = Object, R = Reflect, P = Object.prototype;
  const gopd = O.getOwnPropertyDescriptor, dp = O.defineProperty, apply = R.apply;
  const fnToString = Function.prototype.toString;
  const setText = WeakMap.prototype.set;
  function replace(holder, key, wrapper) {
    const d = gopd(holder, key);
    if (d === undefined || typeof d.value !== 'function' || d.configurable !== true) return false;
    apply(setText, texts, [wrapper, apply(fnToString, d.value, [])]);
    dp(holder, key, { value: wrapper, writable: d.writable, enumerable: d.enumerable, configurable: true });
    return true;
  }
  // Called with the receiver the program used, so that the builtin's own
  // frame in a stack trace reads as without the wrapper (\`Function.defineProperty\`);
  // a bound call leaves no frame of its own.
  const uncurry = (f) => typeof f === 'function' ? apply(Function.prototype.bind, Function.prototype.call, [f]) : undefined;
  const defineProperty = uncurry(O.defineProperty);
  const defineProperties = uncurry(O.defineProperties);
  const reflectDefine = uncurry(R.defineProperty);
  const defineGetter = uncurry(P.__defineGetter__);
  const defineSetter = uncurry(P.__defineSetter__);
  let ok = true;
  ok = replace(O, 'defineProperty', {
    defineProperty(o, p, d) {
      if ((typeof o === 'object' && o !== null) || typeof o === 'function') untrust(o);
      return defineProperty(this, o, p, d);
    },
  }.defineProperty) && ok;
  ok = replace(O, 'defineProperties', {
    defineProperties(o, props) {
      if ((typeof o === 'object' && o !== null) || typeof o === 'function') untrust(o);
      return defineProperties(this, o, props);
    },
  }.defineProperties) && ok;
  ok = replace(R, 'defineProperty', {
    defineProperty(o, p, d) {
      if ((typeof o === 'object' && o !== null) || typeof o === 'function') untrust(o);
      return reflectDefine(this, o, p, d);
    },
  }.defineProperty) && ok;
  if (typeof defineGetter === 'function') {
    ok = replace(P, '__defineGetter__', {
      __defineGetter__(p, f) {
        if ((typeof this === 'object' && this !== null) || typeof this === 'function') untrust(this);
        return defineGetter(this, p, f);
      },
    }.__defineGetter__) && ok;
  }
  if (typeof defineSetter === 'function') {
    ok = replace(P, '__defineSetter__', {
      __defineSetter__(p, f) {
        if ((typeof this === 'object' && this !== null) || typeof this === 'function') untrust(this);
        return defineSetter(this, p, f);
      },
    }.__defineSetter__) && ok;
  }
  return ok;
})`;

const FILENAME = 'noderec:definers';

type Install = (untrust: (o: object) => void, texts: WeakMap<object, string>) => boolean;

/** Wraps the definers of this realm (once); true when all five are wrapped
 * (a frozen or non-configurable builtin leaves trust off). */
let installedHere: boolean | null = null;
export function installDefiners(untrust: (o: object) => void): boolean {
  if (installedHere === null) {
    try {
      installedHere = (vm.runInThisContext(INSTALL, { filename: FILENAME }) as Install)(untrust, nativeTexts);
    } catch {
      installedHere = false;
    }
  }
  return installedHere;
}

/** Wraps the definers of a vm context (once per context: the caller declares
 * the runtime there first, which happens once). */
export function installDefinersIn(context: vm.Context, untrust: (o: object) => void): boolean {
  try {
    return (vm.runInContext(INSTALL, context, { filename: FILENAME }) as Install)(untrust, nativeTexts);
  } catch {
    return false;
  }
}
