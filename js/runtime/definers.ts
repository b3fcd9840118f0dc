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
// `nativeTexts`. An error thrown through a wrapper (by the builtin, or by a
// getter of the descriptor it reads) would have one more frame, the
// wrapper's, and one fewer at the bottom; each wrapper catches it, gives it
// the stack it has without the wrapper (hide() below), notes its frames in
// `definerErrors` and rethrows it. A rethrow moves the location Node's
// uncaught report shows to the wrapper's line (and Node ends a rejection
// whose stack was formatted with its own line): js/runtime/fatal-report.ts
// reports such an error at its first frame in a file instead.
//
// Compiled in the realm whose builtins it replaces (this one, or a test
// runner's vm context that the integration declares the runtime in), with
// that realm's builtins captured before any program code runs.
import * as util from 'node:util';
import * as vm from 'node:vm';

import { protoMoved, setProtoWatch } from './value-encoder';

/** Wrapper → the builtin text Function.prototype.toString gives for it. */
export const nativeTexts = new WeakMap<object, string>();

const INSTALL = `(function (untrust, texts, isError, thrown, moved, isProxy, vmx) {
  'use strict';
  const O = Object, R = Reflect, P = Object.prototype, E = Error;
  const gopd = O.getOwnPropertyDescriptor, dp = O.defineProperty, apply = R.apply;
  const fnToString = Function.prototype.toString;
  const setText = WeakMap.prototype.set;
  const capture = E.captureStackTrace;
  const split = String.prototype.split, join = Array.prototype.join, slice = Array.prototype.slice;
  const concat = Array.prototype.concat, filter = Array.prototype.filter, test = RegExp.prototype.test;
  const indexOf = String.prototype.indexOf, sliceStr = String.prototype.slice;
  const create = O.create, ownNames = O.getOwnPropertyNames;
  function replace(holder, key, wrapper) {
    const d = gopd(holder, key);
    if (d === undefined || typeof d.value !== 'function' || d.configurable !== true) return false;
    apply(setText, texts, [wrapper, apply(fnToString, d.value, [])]);
    dp(holder, key, { value: wrapper, writable: d.writable, enumerable: d.enumerable, configurable: true });
    return true;
  }
  /** Replaces the setter of accessor holder[key] (the getter stays). */
  function replaceSetter(holder, key, wrapper) {
    const d = gopd(holder, key);
    if (d === undefined || typeof d.set !== 'function' || d.configurable !== true) return false;
    apply(setText, texts, [wrapper, apply(fnToString, d.set, [])]);
    dp(holder, key, { get: d.get, set: wrapper, enumerable: d.enumerable, configurable: true });
    return true;
  }
  // An error thrown through a wrapper (by the builtin, or by a getter of the
  // descriptor it reads) was captured with the wrapper's frame in its stack,
  // and one frame fewer below it. Its stack is made what it would be without
  // the wrapper: the frames above the wrapper, then the frames below it,
  // captured again from here (without any wrapper's frame), as many as
  // Error.stackTraceLimit gives. With the program's own Error.prepareStackTrace,
  // it gets those call sites; else the text Node formats is edited.
  const FRAME = /^    at /;
  const OURS = /^    at (?:.* \\()?noderec:definers:\\d+:\\d+\\)?$/;
  const CARET = /^ *\\^+ *$/;
  const isFrame = (l) => apply(test, FRAME, [l]);
  const notOurs = (l) => !apply(test, OURS, [l]);
  const oursSite = (c) => { try { return c.getFileName() === 'noderec:definers'; } catch { return false; } };
  /** Call sites (asSites) or formatted frames below wrapper w, none of ours. */
  function below(w, lim, asSites) {
    const t = {};
    const savedLimit = E.stackTraceLimit, savedPrepare = E.prepareStackTrace;
    try {
      E.stackTraceLimit = lim + 16;
      if (asSites) E.prepareStackTrace = (_, sites) => sites;
      capture(t, w);
      const st = t.stack;
      if (asSites) return typeof st === 'object' && st !== null ? apply(filter, st, [(c) => !oursSite(c)]) : null;
      return typeof st === 'string' ? apply(filter, apply(split, st, ['\\n']), [(l) => isFrame(l) && notOurs(l)]) : null;
    } finally {
      E.stackTraceLimit = savedLimit;
      if (asSites) E.prepareStackTrace = savedPrepare;
    }
  }
  function hide(e, w) {
    try {
      if (!isError(e)) return;
      const lim = E.stackTraceLimit;
      if (typeof lim !== 'number' || !(lim > 0)) return;
      const prep = E.prepareStackTrace;
      if (typeof prep === 'function') {
        // (Node's own is one.) The call sites below are captured first: V8
        // formats no other stack while one is being prepared.
        const rest = below(w, lim, true);
        if (rest === null) return;
        let fixed = null;
        const intercept = function (err, sites) {
          E.prepareStackTrace = prep;
          if (err === e && sites !== null && typeof sites === 'object') {
            let i = 0;
            while (i < sites.length && !oursSite(sites[i])) i++;
            // (the builtin's frame: just above ours, or the last one kept)
            if (w === wProtoSet && i > 0) {
              sites = apply(slice, sites, [0]);
              sites[i - 1] = setterSite(sites[i - 1]);
            }
            if (i < sites.length) {
              sites = apply(slice, apply(concat, apply(slice, sites, [0, i]), [rest]), [0, lim]);
              fixed = sites;
            }
          }
          return apply(prep, this, [err, sites]);
        };
        E.prepareStackTrace = intercept;
        try {
          void e.stack;
        } finally {
          if (E.prepareStackTrace === intercept) E.prepareStackTrace = prep;
        }
        if (fixed !== null) {
          const frames = [];
          for (let j = 0; j < fixed.length && j < 16; j++) frames[j] = '    at ' + fixed[j];
          thrown(e, frames);
          return;
        }
        // Formatted before it reached the wrapper (an error from code a vm
        // context ran, which Node decorates with its source line on the
        // way out): its text is edited as below.
      }
      const s = e.stack;
      if (typeof s !== 'string') return;
      const lines = apply(split, s, ['\\n']);
      let i = 0, above = 0;
      while (i < lines.length && notOurs(lines[i])) {
        if (isFrame(lines[i])) above++;
        i++;
      }
      if (w === wProtoSet && i > 0 && isFrame(lines[i - 1])) {
        const t = setterText(lines[i - 1]);
        if (t !== lines[i - 1]) {
          lines[i - 1] = t;
          if (i === lines.length) e.stack = apply(join, lines, ['\\n']);
        }
      }
      if (i === lines.length) return;
      const rest = below(w, lim, false);
      if (rest === null) return;
      const kept = apply(slice, rest, [0, lim > above ? lim - above : 0]);
      const all = apply(concat, apply(slice, lines, [0, i]), [kept]);
      e.stack = apply(join, all, ['\\n']);
      // An error Node decorated with the line of a vm context's code that
      // threw it (\`file:line\`, the line, a caret, a blank line, then the
      // stack) ends the process reported as it is, as without the wrapper:
      // Node prints no other line for it.
      if (lines.length > 3 && lines[3] === '' && apply(test, CARET, [lines[2]])) return;
      thrown(e, apply(filter, all, [isFrame]));
    } catch {
      // left as it was
    }
  }
  // The builtin __proto__ setter's own frame: V8 names it \`set __proto__
  // [as __proto__]\` when it finds it on the receiver's prototype chain,
  // where the wrapper now is: the name it had (setterMethod, read once from
  // a frame of the builtin before it is replaced) is put back.
  // Its method name, and what its text has between \`set __proto__\` and
  // \` (\` (\` [as __proto__]\` in Node 20; none in Node 22).
  let setterMethod = null;
  let setterAs = '';
  const SETTER_NAME = 'set __proto__';
  function setterText(t) {
    if (typeof t !== 'string' || setterAs === '') return t;
    const at = apply(indexOf, t, [SETTER_NAME + ' (']);
    if (at < 0) return t;
    const end = at + SETTER_NAME.length;
    return apply(sliceStr, t, [0, end]) + setterAs + apply(sliceStr, t, [end]);
  }
  /** Call site \`c\` of the builtin setter, with its method name put back. */
  function setterSite(c) {
    try {
      if (setterMethod === null || c.getFunctionName() !== SETTER_NAME || c.getFileName() != null || c.getMethodName() !== null) return c;
      const proto = getProto(c);
      const d = create(proto);
      const names = ownNames(proto);
      for (let j = 0; j < names.length; j++) {
        const f = proto[names[j]];
        if (names[j] !== 'constructor' && typeof f === 'function') {
          dp(d, names[j], { value: function () { return apply(f, c, arguments); }, writable: true, configurable: true });
        }
      }
      const m = setterMethod;
      const toText = proto.toString;
      dp(d, 'getMethodName', { value: () => m, writable: true, configurable: true });
      dp(d, 'toString', { value: () => setterText(apply(toText, c, [])), writable: true, configurable: true });
      return d;
    } catch {
      return c;
    }
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
  const wDefineProperty = {
    defineProperty(o, p, d) {
      if ((typeof o === 'object' && o !== null) || typeof o === 'function') untrust(o);
      try {
        return defineProperty(this, o, p, d);
      } catch (e) {
        hide(e, wDefineProperty);
        throw e;
      }
    },
  }.defineProperty;
  const wDefineProperties = {
    defineProperties(o, props) {
      if ((typeof o === 'object' && o !== null) || typeof o === 'function') untrust(o);
      try {
        return defineProperties(this, o, props);
      } catch (e) {
        hide(e, wDefineProperties);
        throw e;
      }
    },
  }.defineProperties;
  const wReflectDefine = {
    defineProperty(o, p, d) {
      if ((typeof o === 'object' && o !== null) || typeof o === 'function') untrust(o);
      try {
        return reflectDefine(this, o, p, d);
      } catch (e) {
        hide(e, wReflectDefine);
        throw e;
      }
    },
  }.defineProperty;
  const wDefineGetter = {
    __defineGetter__(p, f) {
      if ((typeof this === 'object' && this !== null) || typeof this === 'function') untrust(this);
      try {
        return defineGetter(this, p, f);
      } catch (e) {
        hide(e, wDefineGetter);
        throw e;
      }
    },
  }.__defineGetter__;
  const wDefineSetter = {
    __defineSetter__(p, f) {
      if ((typeof this === 'object' && this !== null) || typeof this === 'function') untrust(this);
      try {
        return defineSetter(this, p, f);
      } catch (e) {
        hide(e, wDefineSetter);
        throw e;
      }
    },
  }.__defineSetter__;
  // The prototype setters: an existing object's prototype changes only
  // through them (and a Proxy's default [[SetPrototypeOf]], reached through
  // them). The value encoder is told after each call that may have changed
  // one (moved(): a non-function object whose prototype was not already the
  // one given, or a Proxy, whose prototype is not read here: a trap would
  // run), so that a container it wrote as \`truncated\` with its class name
  // is compared again (js/runtime/value-encoder.ts, truncMark).
  const getProto = O.getPrototypeOf;
  const mayMove = (o, p) => typeof o === 'object' && o !== null && (isProxy(o) || getProto(o) !== p);
  const setProto = uncurry(O.setPrototypeOf);
  const reflectSetProto = uncurry(R.setPrototypeOf);
  const protoDesc = gopd(P, '__proto__');
  const protoSet = protoDesc !== undefined ? uncurry(protoDesc.set) : undefined;
  // Object.setPrototypeOf and Reflect.setPrototypeOf: the same wrapper
  // around each builtin (both are named setPrototypeOf, length 2).
  const protoSetter = (builtin) => {
    const w = {
      setPrototypeOf(o, p) {
        const mv = mayMove(o, p);
        // A function's kind (async, generator) is read from its prototype.
        if (typeof o === 'function') untrust(o);
        try {
          return builtin(this, o, p);
        } catch (e) {
          hide(e, w);
          throw e;
        } finally {
          if (mv) moved();
        }
      },
    }.setPrototypeOf;
    return w;
  };
  const wSetProto = protoSetter(setProto);
  const wReflectSetProto = protoSetter(reflectSetProto);
  const wProtoSet = gopd(
    {
      set __proto__(p) {
        const mv = mayMove(this, p);
        if (typeof this === 'function') untrust(this);
        try {
          return protoSet(this, p);
        } catch (e) {
          hide(e, wProtoSet);
          throw e;
        } finally {
          if (mv) moved();
        }
      },
    },
    '__proto__',
  ).set;
  if (typeof protoSet === 'function') {
    const savedLimit = E.stackTraceLimit, savedPrepare = E.prepareStackTrace;
    try {
      E.stackTraceLimit = 1;
      E.prepareStackTrace = (_, sites) => sites;
      protoSet(O.preventExtensions({}), {});
    } catch (e) {
      try {
        const st = e.stack;
        const c = typeof st === 'object' && st !== null && st.length > 0 ? st[0] : null;
        const m = c !== null ? c.getMethodName() : null;
        if (typeof m === 'string') {
          setterMethod = m;
          const t = '' + c;
          const at = apply(indexOf, t, [SETTER_NAME]);
          const to = apply(indexOf, t, [' (', at]);
          if (at >= 0 && to > at) setterAs = apply(sliceStr, t, [at + SETTER_NAME.length, to]);
        }
      } catch {
        // left as V8 names it
      }
    } finally {
      E.stackTraceLimit = savedLimit;
      E.prepareStackTrace = savedPrepare;
    }
  }
  let protoOk = typeof setProto === 'function' && typeof reflectSetProto === 'function' && typeof protoSet === 'function';
  if (protoOk) {
    protoOk = replace(O, 'setPrototypeOf', wSetProto) && protoOk;
    protoOk = replace(R, 'setPrototypeOf', wReflectSetProto) && protoOk;
    protoOk = replaceSetter(P, '__proto__', wProtoSet) && protoOk;
  }
  let ok = true;
  ok = replace(O, 'defineProperty', wDefineProperty) && ok;
  ok = replace(O, 'defineProperties', wDefineProperties) && ok;
  ok = replace(R, 'defineProperty', wReflectDefine) && ok;
  if (typeof defineGetter === 'function') ok = replace(P, '__defineGetter__', wDefineGetter) && ok;
  if (typeof defineSetter === 'function') ok = replace(P, '__defineSetter__', wDefineSetter) && ok;
  // The contexts the program creates (this realm only: vmx is given here).
  // vm.createContext is wrapped: the context it made gets its definers
  // wrapped (vmx.prepare) before the program holds it. vm.runInNewContext
  // and Script.prototype.runInNewContext make theirs with Node's own
  // createContext and run the code right away; the first reaches the
  // second with the context made, and the second is wrapped: it prepares a
  // context it is given, and makes the context first (with the original
  // createContext and the options Node's getContextOptions would give) when
  // given an object not yet one; options it cannot read without running a
  // getter or a trap are left to Node, whose context then keeps its own
  // definers (decisions.md 42).
  let vmOk = 0;
  if (vmx !== undefined && vmx !== null) {
    try {
      vmOk = wrapVm(vmx) ? 4 : 0;
    } catch {
      vmOk = 0;
    }
  }
  function wrapVm(x) {
    const exportsVm = x.exports, scriptProto = x.scriptProto, prepare = x.prepare, isContext = x.isContext, noContextify = x.noContextify;
    const isArray = Array.isArray;
    const builtinCreate = exportsVm.createContext;
    const builtinRun = scriptProto.runInNewContext;
    if (typeof builtinCreate !== 'function' || typeof builtinRun !== 'function') return false;
    const isCtx = (o) => o !== noContextify && typeof o === 'object' && o !== null && isContext(o);
    const wCreateContext = function createContext() {
      let r;
      try {
        r = apply(builtinCreate, this, arguments);
      } catch (e) {
        hide(e, wCreateContext);
        throw e;
      }
      try {
        if (typeof r === 'object' && r !== null && isContext(r)) prepare(r);
      } catch {
        // left as Node made it
      }
      return r;
    };
    // (a function declaration in Node: a constructor with a prototype object)
    const protoObj = builtinCreate.prototype;
    dp(wCreateContext, 'prototype', { value: protoObj });
    const ctorDesc = typeof protoObj === 'object' && protoObj !== null ? gopd(protoObj, 'constructor') : undefined;
    if (ctorDesc !== undefined && ctorDesc.value === builtinCreate && ctorDesc.configurable === true) {
      dp(protoObj, 'constructor', { value: wCreateContext, writable: ctorDesc.writable, enumerable: ctorDesc.enumerable, configurable: true });
    }
    // An own data property's value along the prototype chain (undefined
    // when absent); BAD for an accessor or a Proxy on the way.
    const BAD = {};
    function dataGet(o, k) {
      for (let i = 0; o !== null && i < 64; i++) {
        if (isProxy(o)) return BAD;
        const d = gopd(o, k);
        if (d !== undefined) return 'value' in d ? d.value : BAD;
        o = getProto(o);
      }
      return o === null ? undefined : BAD;
    }
    const isPlain = (o) => typeof o === 'object' && o !== null && !isArray(o);
    // Node's getContextOptions(options) with createContext's checks, or null
    // (left to Node: it throws, or reading would run program code).
    function contextOptions(options) {
      if (!options) return {};
      if (typeof options !== 'object' || isProxy(options)) return null;
      const name = dataGet(options, 'contextName');
      const origin = dataGet(options, 'contextOrigin');
      const gen = dataGet(options, 'contextCodeGeneration');
      const mode = dataGet(options, 'microtaskMode');
      if (name === BAD || origin === BAD || gen === BAD || mode === BAD) return null;
      if ((name !== undefined && typeof name !== 'string') || (origin !== undefined && typeof origin !== 'string')) return null;
      if (mode !== undefined && mode !== 'afterEvaluate') return null;
      let codeGeneration;
      if (gen !== undefined) {
        if (!isPlain(gen) || isProxy(gen)) return null;
        const strings = dataGet(gen, 'strings');
        const wasm = dataGet(gen, 'wasm');
        if ((strings !== undefined && typeof strings !== 'boolean') || (wasm !== undefined && typeof wasm !== 'boolean')) return null;
        codeGeneration = { strings, wasm };
      }
      return { name, origin, codeGeneration, microtaskMode: mode };
    }
    const wRunInNewContext = {
      runInNewContext(contextObject, options) {
        let ctx = contextObject;
        try {
          if (isCtx(ctx)) prepare(ctx);
          else {
            const opts = contextOptions(options);
            if (opts !== null) {
              ctx = builtinCreate(ctx, opts);
              prepare(ctx);
            }
          }
        } catch {
          ctx = contextObject;
        }
        try {
          return apply(builtinRun, this, ctx === contextObject ? arguments : [ctx, options]);
        } catch (e) {
          hide(e, wRunInNewContext);
          throw e;
        }
      },
    }.runInNewContext;
    let done = replace(exportsVm, 'createContext', wCreateContext);
    done = replace(scriptProto, 'runInNewContext', wRunInNewContext) && done;
    return done;
  }
  return (ok ? 1 : 0) | (protoOk ? 2 : 0) | vmOk;
})`;

/** The name of the wrappers' script in stack traces. */
export const DEFINERS_FILENAME = 'noderec:definers';
const FILENAME = DEFINERS_FILENAME;

/** Returns 1 when the five definers are wrapped, | 2 when the three
 * prototype setters are. */
type Install = (
  untrust: (o: object) => void,
  texts: WeakMap<object, string>,
  isError: (e: unknown) => boolean,
  thrown: (e: object, frames: string[]) => void,
  moved: () => void,
  isProxy: (o: unknown) => boolean,
  vmx?: VmHooks,
) => number;

/** What the wrappers of this realm's vm functions are given. */
interface VmHooks {
  exports: typeof vm;
  scriptProto: object;
  isContext: (o: object) => boolean;
  noContextify: unknown;
  prepare: (context: unknown) => void;
}

/** Errors thrown through a wrapper → their frames as without the wrapper
 * (`    at f (file:3:10)`), for the report of an uncaught one
 * (js/runtime/fatal-report.ts). */
export const definerErrors = new WeakMap<object, string[]>();
function thrown(e: object, frames: string[]): void {
  definerErrors.set(e, frames);
}

/** Wraps the definers and the prototype setters of this realm (once); true
 * when all five definers are wrapped (a frozen or non-configurable builtin
 * leaves trust off). The value encoder is told whether the three prototype
 * setters are (setProtoWatch). */
let installedHere: boolean | null = null;
export function installDefiners(untrust: (o: object) => void, prepare: ((context: unknown) => void) | null = null): boolean {
  if (installedHere === null) {
    let r = 0;
    const hooks: VmHooks | undefined =
      prepare === null
        ? undefined
        : {
            // the module's own exports (what require('vm') gives), not
            // TypeScript's namespace copy of them
            exports: require('node:vm') as typeof vm,
            scriptProto: vm.Script.prototype,
            isContext: vm.isContext,
            noContextify: (vm as { constants?: { DONT_CONTEXTIFY?: unknown } }).constants?.DONT_CONTEXTIFY,
            prepare,
          };
    try {
      r = (vm.runInThisContext(INSTALL, { filename: FILENAME }) as Install)(untrust, nativeTexts, util.types.isNativeError, thrown, protoMoved, util.types.isProxy, hooks);
    } catch {
      r = 0;
    }
    installedHere = (r & 1) !== 0;
    setProtoWatch((r & 2) !== 0);
  }
  return installedHere;
}

/** Wraps the definers and prototype setters of a vm context (once per
 * context: the caller declares the runtime there first, which happens once). */
let installScript: vm.Script | null = null;
export function installDefinersIn(context: vm.Context, untrust: (o: object) => void): boolean {
  try {
    // compiled once for all contexts (every context the program creates gets it)
    if (installScript === null) installScript = new vm.Script(INSTALL, { filename: FILENAME });
    return ((installScript.runInContext(context) as Install)(untrust, nativeTexts, util.types.isNativeError, thrown, protoMoved, util.types.isProxy) & 1) !== 0;
  } catch {
    return false;
  }
}
