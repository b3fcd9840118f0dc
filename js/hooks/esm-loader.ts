// Runs in Node's module-hooks thread (module.register, Node 20): instruments
// ES modules. The addon shares the session with the main thread.
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { buildSalt } from '../native';
import { instrumentable } from './scope';
import { instrumentModule } from './syntax';
import { alreadyInstrumented, isTypeScript, rawTypeScript } from './typescript';

export interface LoadResult {
  format?: string | null;
  source?: string | ArrayBuffer | Uint8Array | null;
  shortCircuit?: boolean;
}
export type NextLoad = (url: string, context?: unknown) => Promise<LoadResult>;

/** True while this thread loads a module for itself (the modules of a
 * loader registered after noderec's, their imports): such code runs here,
 * in the hooks thread, where the probes' runtime does not exist. Modules
 * loaded for the application arrive as messages from its thread and are
 * loaded by the hooks chain directly; the thread's own imports go through
 * its module loader (node:internal/modules/esm/loader, module_job), whose
 * frames are then on the stack. */
function loadingForThisThread(): boolean {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 200;
  const stack = new Error().stack ?? '';
  Error.stackTraceLimit = limit;
  return stack.includes('node:internal/modules/esm/loader') || stack.includes('node:internal/modules/esm/module_job');
}

/** The load hook. `outer`: the instance registered again after another
 * loader (js/hooks/esm.ts, registerAfterOthers), there for that loader's
 * TypeScript output; it leaves node_modules alone, since a loader's hooks
 * thread also loads its own packages' TypeScript through it (tap's
 * `@tapjs/*`), which the frames on the stack do not always tell (Node 22). */
export function createLoad(outer: boolean): (url: string, context: unknown, nextLoad: NextLoad) => Promise<LoadResult> {
  return async function load(url: string, context: unknown, nextLoad: NextLoad): Promise<LoadResult> {
    const own = loadingForThisThread() || (outer && url.includes('/node_modules/'));
    const result = await nextLoad(url, context);
    if (own) return result;
    return instrumented(url, result);
  };
}

export const load = createLoad(false);

function instrumented(url: string, result: LoadResult): LoadResult {
  if (result.format !== 'module' || !url.startsWith('file:')) return result;
  let filename: string;
  try {
    filename = fileURLToPath(url);
  } catch {
    return result;
  }
  if (!instrumentable(filename) || result.source === null || result.source === undefined) return result;
  const src = typeof result.source === 'string' ? result.source : Buffer.from(result.source as Uint8Array).toString('utf8');
  // Raw TypeScript is compiled by a loader after this one (tsx); a second
  // registration of this loader, after that one, instruments its output
  // (js/hooks/esm.ts, registerAfterOthers).
  if (alreadyInstrumented(src) || (isTypeScript(filename) && rawTypeScript(filename, src))) return result;
  try {
    const out = instrumentModule(src, filename, true, buildSalt());
    if (out !== null) return { ...result, source: usesNodeTest(src) ? importingNodeTestWatch(out) : out };
  } catch {
    // A recorder failure is reported by the addon (the main thread logs
    // it); a module the instrumenter cannot parse goes to Node untouched,
    // which reports the program's syntax error (js/hooks/syntax.ts).
  }
  return result;
}

const NODE_TEST_WATCH = JSON.stringify(pathToFileURL(path.join(__dirname, '..', 'runners', 'node-test-watch.js')).href);

/** True for the source of a module that loads node:test (as runners/node-test.ts's usesNodeTest). */
function usesNodeTest(source: string): boolean {
  return source.includes('node:test') && /['"`]node:test['"`]/.test(source);
}

/** A module that uses node:test imports runners/node-test-watch.js first:
 * this thread is not the program's, whose node:test tests become spans
 * (runners/node-test.ts). The import goes in front of the prologue, on its
 * line (after a `#!` line and the directives), so no line moves. */
function importingNodeTestWatch(out: string): string {
  const i = out.indexOf('const __nr$b=');
  return i < 0 ? out : `${out.slice(0, i)}import ${NODE_TEST_WATCH};${out.slice(i)}`;
}
