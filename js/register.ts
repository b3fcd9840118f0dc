// Preload entry: `node --require noderec/register` or `--import noderec/register`.
// Starts recording in the main thread, joins it in worker threads, and
// installs the module hooks. Writes nothing to stdout or stderr when all is
// well (recorder failures and a bad policy are logged: see js/tracer.ts).
import { isMainThread } from 'node:worker_threads';

import { runtimeDeclared } from './runtime/global-binding';
import { installHooks, joinFromWorker, startFromPreload } from './tracer';

let registered = false;

function main(): void {
  // Once per process (this module is cached), and not at all when another
  // copy of noderec already recorded into this realm (it declared `__nr$`).
  if (registered || runtimeDeclared()) return;
  registered = true;
  // The main thread's start() installs the hooks; a worker installs its own.
  if (isMainThread) startFromPreload();
  else if (joinFromWorker()) installHooks();
}

main();
