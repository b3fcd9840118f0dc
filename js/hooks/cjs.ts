// CommonJS hook for Node versions without module.registerHooks: the module's
// source is instrumented right before Module.prototype._compile compiles it.
import Module from 'node:module';

import { native } from '../native';
import { instrumentable } from './scope';

type Compile = (this: unknown, content: string, filename: string, ...rest: unknown[]) => unknown;

let installed = false;
let active = true;

export function installCjsHook(onError: (e: unknown, filename: string) => void): void {
  if (installed) return;
  installed = true;
  const proto = (Module as unknown as { prototype: { _compile: Compile } }).prototype;
  const original = proto._compile;
  proto._compile = function _compile(this: unknown, content: string, filename: string, ...rest: unknown[]) {
    if (active && typeof content === 'string' && instrumentable(filename)) {
      try {
        const out = native().instrument(content, filename, false);
        if (out !== null) content = out;
      } catch (e) {
        onError(e, filename);
      }
    }
    return original.call(this, content, filename, ...rest);
  };
}

/** Stops instrumenting new modules (the recorder detached). */
export function deactivateCjsHook(): void {
  active = false;
}
