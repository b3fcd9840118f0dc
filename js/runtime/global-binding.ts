// How instrumented code reaches the probes without a name the program can
// shadow or see: two global *lexical* bindings, `const __nr$` (the runtime
// object) and `let __nr$v` (the value being returned), declared once per
// realm by a script of their own (design-docs/probes.md).
//
// A global lexical binding is not a property of the global object: it does
// not appear in Object.getOwnPropertyNames/Symbols(globalThis), and a
// module's own `var Symbol`, `let globalThis`, ... cannot change it. It is
// visible only by its name (`typeof __nr$`), which no program uses.
import * as vm from 'node:vm';

/** The name instrumented code calls the runtime by. */
export const RUNTIME_NAME = '__nr$';

let declaredHere = false;

/** Whether this realm already has the runtime binding (declared by this or
 * another copy of noderec). */
export function runtimeDeclared(): boolean {
  if (declaredHere) return true;
  try {
    return vm.runInThisContext(`typeof ${RUNTIME_NAME}`) !== 'undefined';
  } catch {
    return false;
  }
}

/** Declares `const __nr$ = rt` and `let __nr$v` in this realm (once). The
 * object crosses through a transient, non-enumerable property that exists
 * only while the declaring script runs: no program code runs meanwhile. */
export function declareRuntime(rt: object): void {
  if (declaredHere) return;
  const key = `noderec:runtime:${process.pid}`;
  let viaProperty = true;
  try {
    Object.defineProperty(globalThis, key, { value: rt, configurable: true, enumerable: false, writable: false });
  } catch {
    // A frozen global object: fall back to a `let` set by a function.
    viaProperty = false;
  }
  try {
    if (viaProperty) {
      vm.runInThisContext(`const ${RUNTIME_NAME}=this[${JSON.stringify(key)}];let __nr$v;`, { filename: 'noderec:runtime' });
    } else {
      const set = vm.runInThisContext(`let ${RUNTIME_NAME},__nr$v;(function(r){${RUNTIME_NAME}=r})`, { filename: 'noderec:runtime' }) as (r: object) => void;
      set(rt);
    }
  } finally {
    if (viaProperty) delete (globalThis as Record<string, unknown>)[key];
  }
  declaredHere = true;
}

// ---- vm contexts ----------------------------------------------------------
// Code a test runner runs in a vm context of its own (jest's environments,
// vitest's vm pools) resolves `__nr$` and `__nr$v` in that context's realm.
// The context gets both bindings from a declaration script run there:
// `__nr$` is an object of that realm whose probes are this realm's, except
// the seven that read the value crossing in `__nr$v` (r, rr, rx, rv, aw, yd, rs):
// those are compiled in the context, read the context's `__nr$v` and hand it
// to this realm's binding (`put`) before calling the probe; the setter
// `prototype` sets the context's `__nr$v` too. `d`, `q`, `e`
// and `Q` are accessors for the runtime's, so the call-free `finally` and
// `catch` of a synchronous function still set the state the probes read. The
// wrappers are padded out of line like the probes (js/runtime/probes.ts).

const declaredIn = new WeakSet<object>();

/** The never-taken branch that keeps a wrapper longer than V8 inlines. */
const PAD = Array.from({ length: 40 }, (_, i) => `o$(${i})`).join('+');

/** The function that makes a vm context's `__nr$` from `{ rt, put }`. */
function contextRuntime(): string {
  const wrap = (name: string, params: string, read: string): string =>
    `o.${name}=function ${name}(${params}){if(OUT)${PAD};const v=${read};__nr$v=undefined;put(v);return p.${name}(${params})};`;
  return (
    `(function(h){'use strict';` +
    `const rt=h.rt,put=h.put,p={r:rt.r,rr:rt.rr,rx:rt.rx,rv:rt.rv,aw:rt.aw,yd:rt.yd,rs:rt.rs},o={};` +
    `let OUT=false;function o$(k){OUT=false;return k}` +
    `for(const k of Object.keys(rt))if(k!=='d'&&k!=='q'&&k!=='e')o[k]=rt[k];` +
    `for(const k of ['d','q','e','Q'])Object.defineProperty(o,k,{get(){return rt[k]},set(x){rt[k]=x},enumerable:true});` +
    // `(__nr$).prototype=e` (probes.md, *Names V8 infers*): this context's `__nr$v`.
    `Object.defineProperty(o,'prototype',{set(x){__nr$v=x}});` +
    wrap('r', 'x', '__nr$v') +
    wrap('rr', 'x,m', 'm===4?undefined:__nr$v') +
    wrap('rx', 'x', '__nr$v') +
    wrap('rv', 'x,a,b,m', '__nr$v') +
    wrap('aw', 'x,s', '__nr$v') +
    wrap('yd', 'x,s', '__nr$v') +
    wrap('rs', 'x', '__nr$v') +
    `return o})`
  );
}

/** Declares `__nr$` and `__nr$v` in a vm context (once per context) for the
 * runtime `rt`; `put` sets this realm's `__nr$v`. False when the context
 * already has them. As in this realm, `{ rt, put }` crosses through a
 * transient property of the context's global object, or, when it cannot
 * have one, `__nr$` is a `let` set by a function. */
export function declareRuntimeIn(context: vm.Context, rt: object, put: (v: unknown) => void): boolean {
  if (declaredIn.has(context)) return false;
  declaredIn.add(context);
  if (vm.runInContext(`typeof ${RUNTIME_NAME}`, context) !== 'undefined') return false;
  const h = { rt, put };
  const key = `noderec:runtime:${process.pid}`;
  let viaProperty = true;
  try {
    Object.defineProperty(context, key, { value: h, configurable: true, enumerable: false, writable: false });
  } catch {
    viaProperty = false;
  }
  const options = { filename: 'noderec:runtime' };
  try {
    if (viaProperty) {
      vm.runInContext(`let __nr$v;const ${RUNTIME_NAME}=${contextRuntime()}(this[${JSON.stringify(key)}]);`, context, options);
    } else {
      const set = vm.runInContext(`let ${RUNTIME_NAME},__nr$v;(function(h){${RUNTIME_NAME}=${contextRuntime()}(h)})`, context, options) as (x: object) => void;
      set(h);
    }
  } finally {
    if (viaProperty) delete (context as Record<string, unknown>)[key];
  }
  return true;
}
