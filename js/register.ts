// Preload entry: `node --require noderec/register` or `--import noderec/register`.
// Starts recording in the main thread, joins it in worker threads, and
// installs the module hooks. Writes nothing to stdout or stderr when all is
// well (recorder failures and a bad policy are logged: see js/tracer.ts).
import { isMainThread, parentPort } from 'node:worker_threads';

let registered = false;

function main(): void {
  // Node's module-hooks thread (module.register, Node 20) runs the preloads
  // too, and the main thread's register() waits until it has: it records
  // nothing, so it loads nothing more (js/tracer.ts and what it imports cost
  // that thread ~35 ms). It is the one worker without a parentPort.
  if ((!isMainThread && parentPort === null) || registered) return;
  // noderec's own modules compile from the V8 code cache the build wrote,
  // while this preload loads them (js/code-cache.ts).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  (require('./code-cache') as typeof import('./code-cache')).withCodeCache(load);
}

function load(): void {
  // Once per process (this module is cached), and not at all when another
  // copy of noderec already recorded into this realm (it declared `__nr$`).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { runtimeDeclared } = require('./runtime/global-binding') as typeof import('./runtime/global-binding');
  if (registered || runtimeDeclared()) return;
  registered = true;
  let recording = false;
  if (isMainThread && earlyHooksThread()) {
    // Node 20: the facade loads and the session starts while Node's
    // module-hooks thread boots (js/hooks/early.ts).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const early = require('./hooks/early') as typeof import('./hooks/early');
    early.spendDefaultLoaderWarning();
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    early.registerEarly(() => (recording = (require('./tracer') as typeof import('./tracer')).startFromPreload()));
  } else {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const tracer = require('./tracer') as typeof import('./tracer');
    // The main thread's start() installs the hooks; a worker installs its own.
    if (isMainThread) recording = tracer.startFromPreload();
    else if ((recording = tracer.joinFromWorker())) tracer.installHooks();
  }
  // Under `noderec record`: a child whose NODE_OPTIONS the program replaced
  // still gets the preload (js/child-env.ts).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  if (recording) (require('./child-env') as typeof import('./child-env')).keepChildrenInRun();
}

/** Whether the main thread registers Node's module-hooks thread before the
 * facade loads: a Node with that thread (< 22.15), and a run the policy
 * records. Only the environment's `disabled` is read here (a bad policy is
 * start()'s to report); a run that then records nothing (a failed start, a
 * component with `enabled = false`) registers a module without hooks. */
function earlyHooksThread(): boolean {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  if (!(require('./hooks/early') as typeof import('./hooks/early')).hooksThreadNode()) return false;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return !(require('./policy/env') as typeof import('./policy/env')).policyFromEnv().disabled;
  } catch {
    return false;
  }
}

main();
