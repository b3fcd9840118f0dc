// CommonJS hook for Node versions without module.registerHooks (Node 20).
//
// It must not add a stack frame to the program's stack traces, so nothing of
// ours may be on the stack while a module body runs. Two pieces, neither of
// which stays on the stack:
// - a getter on Module.prototype._compile notes which module is about to be
//   compiled (the loader reads `module._compile` just before calling it) and
//   returns the original function unchanged;
// - Module.wrap, which Node calls to wrap the source right before compiling
//   it, instruments that source.
import Module from 'node:module';

import { buildSalt, native } from '../native';
import { instrumentable } from './scope';

type Wrap = (script: string) => string;
interface ModuleInternals {
  prototype: { _compile: unknown };
  wrap: Wrap;
}

let installed = false;
let active = true;

export function installCjsHook(onError: (e: unknown, filename: string) => void): void {
  if (installed) return;
  installed = true;
  const M = Module as unknown as ModuleInternals;
  let compile = M.prototype._compile;
  let pending: string | undefined;
  Object.defineProperty(M.prototype, '_compile', {
    configurable: true,
    enumerable: false,
    get(this: { filename?: unknown } | undefined) {
      const f = this?.filename;
      pending = typeof f === 'string' ? f : undefined;
      return compile;
    },
    set(v: unknown) {
      compile = v;
    },
  });
  const previousWrap = M.wrap;
  M.wrap = function wrap(script: string): string {
    const filename = pending;
    pending = undefined;
    if (active && filename !== undefined && typeof script === 'string' && instrumentable(filename)) {
      try {
        const out = native().instrument(script, filename, false, buildSalt());
        if (out !== null) script = out;
      } catch (e) {
        onError(e, filename);
      }
    }
    return previousWrap(script);
  };
}

/** Stops instrumenting new modules (the recorder detached). */
export function deactivateCjsHook(): void {
  active = false;
}
