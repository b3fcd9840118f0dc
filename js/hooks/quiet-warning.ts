// Runs a call of Node's during which Node would emit a warning the program
// did not cause (an experimental feature the recorder uses): only a warning
// whose text contains `fragment` is dropped; every other one goes through.
// No imports: js/hooks/early.ts loads this before anything else.

/** `fn()` with the warnings whose text contains `fragment` muted. */
export function withoutWarning<T>(fragment: string, fn: () => T): T {
  const emit = process.emitWarning;
  process.emitWarning = function emitWarning(this: unknown, warning: unknown, ...rest: unknown[]): void {
    if (String(warning instanceof Error ? warning.message : warning).includes(fragment)) return;
    Reflect.apply(emit, this, [warning, ...rest]);
  } as typeof process.emitWarning;
  try {
    return fn();
  } finally {
    process.emitWarning = emit;
  }
}
