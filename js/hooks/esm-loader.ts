// Runs in Node's module-hooks thread (module.register, Node 20): instruments
// ES modules. The addon shares the session with the main thread.
import { fileURLToPath } from 'node:url';

import { buildSalt, native } from '../native';
import { instrumentable } from './scope';

interface LoadResult {
  format?: string | null;
  source?: string | ArrayBuffer | Uint8Array | null;
  shortCircuit?: boolean;
}
type NextLoad = (url: string, context?: unknown) => Promise<LoadResult>;

export async function load(url: string, context: unknown, nextLoad: NextLoad): Promise<LoadResult> {
  const result = await nextLoad(url, context);
  if (result.format !== 'module' || !url.startsWith('file:')) return result;
  let filename: string;
  try {
    filename = fileURLToPath(url);
  } catch {
    return result;
  }
  if (!instrumentable(filename) || result.source === null || result.source === undefined) return result;
  const src = typeof result.source === 'string' ? result.source : Buffer.from(result.source as Uint8Array).toString('utf8');
  try {
    const out = native().instrument(src, filename, true, buildSalt());
    if (out !== null) return { ...result, source: out };
  } catch {
    // The main thread reports recorder errors; an ES module that cannot be
    // instrumented runs untouched.
  }
  return result;
}
