// Preload entry: `node --require noderec/register` or `--import noderec/register`.
// Starts recording in the main thread, joins it in worker threads, and
// installs the module hooks. Writes nothing to stdout or stderr.
import { isMainThread } from 'node:worker_threads';

import { installCjsHook } from './hooks/cjs';
import { hasInThreadHooks, installInThreadHooks, installLoaderThreadHooks } from './hooks/esm';
import { policyFromEnv } from './policy/env';
import { joinFromWorker, start } from './tracer';

const REGISTERED = Symbol.for('noderec.registered');

function onInstrumentError(e: unknown, filename: string): void {
  void e;
  void filename;
}

function main(): void {
  const g = globalThis as unknown as Record<symbol, unknown>;
  if (g[REGISTERED] === true) return;
  Object.defineProperty(globalThis, REGISTERED, { value: true, enumerable: false });
  const policy = policyFromEnv();
  if (policy.disabled) return;
  let recording: boolean;
  if (isMainThread) {
    start();
    recording = true;
  } else {
    recording = joinFromWorker();
  }
  if (!recording) return;
  if (hasInThreadHooks()) {
    installInThreadHooks(onInstrumentError);
  } else {
    installCjsHook(onInstrumentError);
    if (isMainThread) installLoaderThreadHooks();
  }
}

main();
