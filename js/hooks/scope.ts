// Which files the hooks hand to the instrumenter. Filters (TOML) decide
// finer; this only keeps the recorder out of its own code.
import * as path from 'node:path';

// Captured at load (decision 54); here, not from ../runtime/primordials: this
// file loads in Node's hooks thread, which loads nothing else of the recorder.
const StringPrototypeStartsWith = Function.prototype.call.bind(String.prototype.startsWith) as (s: string, x: string) => boolean;
const RegExpPrototypeExec = Function.prototype.call.bind(RegExp.prototype.exec) as (re: RegExp, s: string) => RegExpExecArray | null;

/** JavaScript, and TypeScript as a loader (tsx, ts-node, Node's type
 * stripping) hands it over. */
const SCRIPT = /\.(?:[cm]?js|[cm]?ts|tsx)$/;

const OWN_ROOT = path.resolve(__dirname, '..', '..') + path.sep;

const OWN_KEPT = [OWN_ROOT + 'node_modules' + path.sep, OWN_ROOT + 'test' + path.sep, OWN_ROOT + 'examples' + path.sep, OWN_ROOT + 'bench' + path.sep];

/** True for a file the hooks should instrument. Runs at every `require` and
 * import: captured built-ins only (decision 54). */
export function instrumentable(filename: string): boolean {
  if (StringPrototypeStartsWith(filename, OWN_ROOT)) {
    let kept = false;
    for (let i = 0; i < OWN_KEPT.length; i++) if (StringPrototypeStartsWith(filename, OWN_KEPT[i])) kept = true;
    if (!kept) return false;
  }
  return RegExpPrototypeExec(SCRIPT, filename) !== null;
}
