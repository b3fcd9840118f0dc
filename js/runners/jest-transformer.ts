// A jest transformer that runs the project's own transformer, then
// instruments its output for noderec (with its source map, so positions are
// those of the original file). For projects that want the integration in
// their config (e.g. jest started by a script noderec does not recognize):
//
//   transform: {
//     '\\.[jt]sx?$': ['noderec/jest-transformer', { transformer: 'babel-jest', options: {} }],
//   }
//
// `transformer` (default babel-jest) is resolved from the project's rootDir;
// `options` is its own configuration. Outside a recording the output is the
// inner transformer's, unchanged. Jest caches transform results on disk: the
// cache key includes the trace directory, so instrumented code is never
// reused by another recording or by a plain run.
import * as crypto from 'node:crypto';

import { native } from '../native';
import { instrumentJestOutput, installJestContexts, watchJestFramework } from './integrate';

interface TransformOptions {
  config: { rootDir: string };
  configString?: string;
  [k: string]: unknown;
}
type Result = string | { code: string; map?: unknown };
interface Transformer {
  process(src: string, filename: string, options: TransformOptions): Result;
  processAsync?(src: string, filename: string, options: TransformOptions): Promise<Result>;
  getCacheKey?(src: string, filename: string, options: TransformOptions): string;
  getCacheKeyAsync?(src: string, filename: string, options: TransformOptions): Promise<string>;
  createTransformer?(options?: unknown): Transformer;
}

interface Config {
  transformer?: string;
  options?: unknown;
}

function recordingDir(): string | null {
  try {
    return native().currentDir();
  } catch {
    return null;
  }
}

function createTransformer(config: Config = {}): Transformer {
  const name = config.transformer ?? 'babel-jest';
  const innerOptions = config.options ?? {};
  let inner: Transformer | null = null;
  // The vm contexts jest creates must reach the recorder's runtime, and
  // the test framework jest loads next reports its tests as spans.
  if (recordingDir() !== null) {
    installJestContexts();
    watchJestFramework();
  }
  const get = (rootDir: string): Transformer => {
    if (inner !== null) return inner;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    let mod = require(require.resolve(name, { paths: [rootDir, __dirname] })) as Transformer & { default?: Transformer };
    if (typeof mod.createTransformer !== 'function' && mod.default !== undefined) mod = mod.default;
    inner = typeof mod.createTransformer === 'function' ? mod.createTransformer(innerOptions) : mod;
    return inner;
  };
  const withInner = (options: TransformOptions): TransformOptions => ({ ...options, transformerConfig: innerOptions });
  const finish = (r: Result, filename: string): Result => {
    if (recordingDir() === null) return r;
    const code = typeof r === 'string' ? r : r.code;
    const map = typeof r === 'string' ? null : (r.map ?? null);
    let out: string | null = null;
    try {
      out = instrumentJestOutput(code, map, filename);
    } catch {
      // code noderec cannot parse runs as the inner transformer made it
      out = null;
    }
    return out === null ? r : { code: out, map };
  };
  const key = (base: string): string => `${base}:noderec:${recordingDir() ?? 'plain'}`;
  const t: Transformer = {
    process(src, filename, options) {
      return finish(get(options.config.rootDir).process(src, filename, withInner(options)), filename);
    },
    async processAsync(src, filename, options) {
      const i = get(options.config.rootDir);
      const r = i.processAsync !== undefined ? await i.processAsync(src, filename, withInner(options)) : i.process(src, filename, withInner(options));
      return finish(r, filename);
    },
    getCacheKey(src, filename, options) {
      const i = get(options.config.rootDir);
      const base = i.getCacheKey !== undefined ? i.getCacheKey(src, filename, withInner(options)) : crypto.createHash('sha256').update(src).update(filename).update(options.configString ?? '').digest('hex');
      return key(base);
    },
  };
  return t;
}

export = { createTransformer };
