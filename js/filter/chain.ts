// The filter chain (design-docs/filters.md): built-in default, then the
// nearest `.noderec/filter.toml` walking up from the entry script, then
// NODEREC_TRACE_FILTER (`::`-separated), then the API option / `noderec
// record --filter` (which the CLI appends to NODEREC_TRACE_FILTER, after the
// user's own entries). The files are validated before recording starts.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { native } from '../native';

/** The built-in default filter shipped in the package. */
export const DEFAULT_FILTER = path.resolve(__dirname, '..', '..', '..', 'filters', 'default.toml');

/** The nearest `.noderec/filter.toml` at or above `from`, if any. */
export function discoverFilter(from: string): string | null {
  let dir = path.resolve(from);
  for (;;) {
    const f = path.join(dir, '.noderec', 'filter.toml');
    try {
      if (fs.statSync(f).isFile()) return f;
    } catch {
      // not here
    }
    const up = path.dirname(dir);
    if (up === dir) return null;
    dir = up;
  }
}

/** The chain's files in order. `fromEnv` are NODEREC_TRACE_FILTER's files
 * (read through the settings table), `api` the files given to `start()`. */
export function filterChain(entryDir: string, fromEnv: readonly string[] = [], api: readonly string[] = []): string[] {
  const chain = [DEFAULT_FILTER];
  const found = discoverFilter(entryDir);
  if (found !== null) chain.push(found);
  for (const f of [...fromEnv, ...api]) chain.push(path.resolve(f));
  return chain;
}

/** Loads the chain once to validate it and returns it. A bad filter throws
 * the native error (code ERR_FILTER_PARSE or ERR_FILTER_SCHEMA, message
 * `file:line:column: what is wrong and what is accepted`) before anything
 * is recorded; the tracer's start-failure handling applies
 * NODEREC_ON_RECORDER_ERROR (abort: exit 1 before the program runs;
 * disable: the program runs unrecorded; both log the error). */
export function prepareFilters(entryDir: string, fromEnv: readonly string[], api: readonly string[] = []): string[] {
  const chain = filterChain(entryDir, fromEnv, api);
  native().filterCheck(chain);
  return chain;
}

/** A filter file that does not load, as `noderec record` reports it: a
 * usage error (exit code 2) keeping the native code (ERR_FILTER_PARSE,
 * ERR_FILTER_SCHEMA) and the `file:line:column:` message. */
export class FilterError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'FilterError';
  }
}

/** Validates the built-in default followed by `files` (for `noderec
 * record`, before it runs anything). Throws FilterError. */
export function checkFilters(files: readonly string[]): void {
  try {
    native().filterCheck([DEFAULT_FILTER, ...files.map((f) => path.resolve(f))]);
  } catch (e) {
    const err = e as { code?: string; message?: string };
    if (err.code === 'ERR_FILTER_PARSE' || err.code === 'ERR_FILTER_SCHEMA') throw new FilterError(err.code, err.message ?? String(e));
    throw e;
  }
}
