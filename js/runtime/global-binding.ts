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
