// Runs before every test in every file: one turn of the event loop, so that
// the worker answers vitest's RPC between tests. Many tests spawn children
// synchronously (spawnSync blocks the worker); vitest chains synchronous
// tests through microtasks only, so the worker read no message until a test
// awaited real I/O. A report to vitest sent at the start of such a run and
// answered only after 60 s of blocking fails the whole run ("[vitest-worker]:
// Timeout calling onTaskUpdate"), which a loaded 2-core machine reached in
// clock.test.ts (five spawnSync tests, 180 s). With this turn the limit is
// one test's own synchronous time, not a file's.
import { beforeEach } from 'vitest';

beforeEach(() => new Promise<void>((resolve) => setTimeout(resolve, 0)));
