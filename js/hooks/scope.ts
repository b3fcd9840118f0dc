// Which files the hooks hand to the instrumenter. Filters (TOML) decide
// finer; this only keeps the recorder out of its own code.
import * as path from 'node:path';

/** JavaScript, and TypeScript as a loader (tsx, ts-node, Node's type
 * stripping) hands it over. */
const SCRIPT = /\.(?:[cm]?js|[cm]?ts|tsx)$/;

const OWN_ROOT = path.resolve(__dirname, '..', '..') + path.sep;

/** True for a file the hooks should instrument. */
export function instrumentable(filename: string): boolean {
  if (filename.startsWith(OWN_ROOT) && !filename.startsWith(OWN_ROOT + 'node_modules' + path.sep) &&
      !filename.startsWith(OWN_ROOT + 'test' + path.sep) && !filename.startsWith(OWN_ROOT + 'examples' + path.sep) &&
      !filename.startsWith(OWN_ROOT + 'bench' + path.sep)) {
    return false;
  }
  return SCRIPT.test(filename);
}
