// Room for the recorded program's recursion on the main thread (issue 8,
// defect 5; design-docs/decisions.md 9). Instrumented frames are larger
// than the originals (the activation value, the `try/finally` that closes
// an activation when it throws), so with V8's stack limit unchanged the
// deepest recursion that works recorded is 64-90% of the plain one. The
// frames cannot shrink further without losing what the trace needs; the
// recorder gives the stack the room they take instead:
// `NODEREC_STACK_ROOM` percent of V8's `--stack-size` (host/stack.rs moves
// the limit through `v8::Isolate::SetStackLimit`).
import { logger } from './logging/logger';
import { native } from './native';

/** V8's default `--stack-size` on 64-bit platforms, KiB. */
const V8_STACK_KIB = 984;

/** The `--stack-size=N` node was started with (the last one given wins;
 * node accepts no other spelling, and none in NODE_OPTIONS), else V8's
 * default. */
export function v8StackSizeKib(execArgv: readonly string[] = process.execArgv): number {
  let kib = V8_STACK_KIB;
  for (const a of execArgv) {
    if (!a.startsWith('--stack-size=') && !a.startsWith('--stack_size=')) continue;
    const v = a.slice(13);
    if (/^\d+$/.test(v)) kib = Number(v);
  }
  return kib;
}

/** Gives the main thread `percent`% of V8's stack room (once per process:
 * host/stack.rs moves the limit only the first time). Never fails the
 * recording: a platform or a node where the limit cannot move keeps V8's
 * (logged at debug). */
export function growStack(percent: number): void {
  if (percent <= 100) return;
  const kib = v8StackSizeKib();
  try {
    const r = native().stackGrow(kib, percent);
    if (r.unchanged == null) logger.debug('noderec::stack', 'stack limit moved', { before_kib: r.beforeKib, after_kib: r.afterKib, percent });
    else logger.debug('noderec::stack', 'stack limit unchanged', { reason: r.unchanged, stack_size_kib: kib });
  } catch (e) {
    logger.debug('noderec::stack', 'stack limit unchanged', { error: String(e) });
  }
}
