// The policy model: every setting, its type, default, environment variable
// and `noderec record` flag, and the one validator every source goes
// through (environment, CLI flags, API options).

export type OnRecorderError = 'abort' | 'disable';
export type CaptureIo = 'off' | 'proxies' | 'proxies+fd';
export type ClockMode = 'published' | 'precise';
export type Scope = 'project' | 'all';
export type LogLevel = 'error' | 'warn' | 'info' | 'debug' | 'trace';

export interface Policy {
  disabled: boolean;
  outDir: string;
  traceFilter: string[];
  onRecorderError: OnRecorderError;
  requireTrace: boolean;
  keepPartialTrace: boolean;
  captureIo: CaptureIo;
  activationPath: string | null;
  /** 0: unlimited. */
  maxEvents: number;
  valueDepth: number;
  valueItems: number;
  valueString: number;
  valueThisDepth: number;
  valueBudget: number;
  valueRefs: boolean;
  /** KiB of memos kept for references (values.md, "Memo budget"). */
  valueMemoKib: number;
  /** Experimental, off: fresh objects trusted by V8 shape witnesses (decisions.md 37). */
  valueShapeWitness: boolean;
  captureValues: boolean;
  clock: ClockMode;
  /** Percent of V8's stack room the recorded main thread gets (100: unchanged). */
  stackRoom: number;
  scope: Scope;
  logLevel: LogLevel;
  logFile: string | null;
  jsonErrors: boolean;
  /** null: `$XDG_CACHE_HOME/noderec` or `~/.cache/noderec`. */
  cacheDir: string | null;
  noCache: boolean;
  jsonlTopTime: boolean;
  /** TracingChannel names whose operations become spans (js/bridges.ts). */
  spanChannels: string[];
  /** MiB of events held for clearing runs before the oldest are written. */
  clearHoldMb: number;
}

export const DEFAULT_POLICY: Readonly<Policy> = Object.freeze({
  disabled: false,
  outDir: './noderec-traces',
  traceFilter: [],
  onRecorderError: 'abort',
  requireTrace: false,
  keepPartialTrace: false,
  captureIo: 'proxies',
  activationPath: null,
  maxEvents: 0,
  valueDepth: 3,
  valueItems: 32,
  valueString: 256,
  valueThisDepth: 0,
  valueBudget: 1024,
  valueRefs: true,
  valueMemoKib: 512,
  valueShapeWitness: false,
  captureValues: true,
  clock: 'published',
  stackRoom: 160,
  scope: 'project',
  logLevel: 'warn',
  logFile: null,
  jsonErrors: false,
  cacheDir: null,
  noCache: false,
  jsonlTopTime: false,
  spanChannels: [],
  clearHoldMb: 64,
} as Policy);

export type PolicyKey = keyof Policy;

type Kind =
  | { t: 'bool' }
  | { t: 'int'; min: number; max?: number }
  | { t: 'enum'; values: readonly string[] }
  | { t: 'path'; nullable: boolean }
  | { t: 'paths' }
  | { t: 'names' };

export interface Setting {
  key: PolicyKey;
  env: string;
  /** The `noderec record` flag (booleans also take `--no-<name>` and `=value`). */
  flag: string;
  kind: Kind;
  doc: string;
}

/** Every setting, in the order of the README table. */
export const SETTINGS: readonly Setting[] = [
  { key: 'disabled', env: 'NODEREC_DISABLED', flag: '--disabled', kind: { t: 'bool' }, doc: 'record nothing; the preload does not reach child processes' },
  { key: 'outDir', env: 'NODEREC_OUT_DIR', flag: '--out-dir', kind: { t: 'path', nullable: false }, doc: 'directory receiving trace directories' },
  { key: 'traceFilter', env: 'NODEREC_TRACE_FILTER', flag: '--filter', kind: { t: 'paths' }, doc: 'filter files, `::`-separated (the flag repeats)' },
  { key: 'onRecorderError', env: 'NODEREC_ON_RECORDER_ERROR', flag: '--on-recorder-error', kind: { t: 'enum', values: ['abort', 'disable'] }, doc: 'what a recorder failure does' },
  { key: 'requireTrace', env: 'NODEREC_REQUIRE_TRACE', flag: '--require-trace', kind: { t: 'bool' }, doc: 'a run that recorded no event fails (ERR_TRACE_MISSING)' },
  { key: 'keepPartialTrace', env: 'NODEREC_KEEP_PARTIAL_TRACE', flag: '--keep-partial-trace', kind: { t: 'bool' }, doc: 'keep the trace of a failed recording (status partial)' },
  { key: 'captureIo', env: 'NODEREC_CAPTURE_IO', flag: '--capture-io', kind: { t: 'enum', values: ['off', 'proxies', 'proxies+fd'] }, doc: 'what output is captured' },
  { key: 'activationPath', env: 'NODEREC_ACTIVATION_PATH', flag: '--activation-path', kind: { t: 'path', nullable: true }, doc: 'record only the first activation of a function of this file' },
  { key: 'maxEvents', env: 'NODEREC_MAX_EVENTS', flag: '--max-events', kind: { t: 'int', min: 0 }, doc: 'stop recording after N events (0: unlimited)' },
  { key: 'valueDepth', env: 'NODEREC_VALUE_DEPTH', flag: '--value-depth', kind: { t: 'int', min: 0, max: 32 }, doc: 'nesting depth of recorded values' },
  { key: 'valueItems', env: 'NODEREC_VALUE_ITEMS', flag: '--value-items', kind: { t: 'int', min: 0 }, doc: 'items kept per array, object, map or set' },
  { key: 'valueString', env: 'NODEREC_VALUE_STRING', flag: '--value-string', kind: { t: 'int', min: 0 }, doc: 'characters kept per string' },
  { key: 'valueThisDepth', env: 'NODEREC_VALUE_THIS_DEPTH', flag: '--value-this-depth', kind: { t: 'int', min: 0, max: 32 }, doc: 'depth of `this` (0: class name only)' },
  { key: 'valueBudget', env: 'NODEREC_VALUE_BUDGET', flag: '--value-budget', kind: { t: 'int', min: 0 }, doc: 'entries one value may record across all its containers (0: no limit)' },
  { key: 'valueRefs', env: 'NODEREC_VALUE_REFS', flag: '--value-refs', kind: { t: 'bool' }, doc: 'record an unchanged object met again as a reference to its earlier encoding' },
  { key: 'valueMemoKib', env: 'NODEREC_VALUE_MEMO_KIB', flag: '--value-memo-kib', kind: { t: 'int', min: 0 }, doc: 'KiB of memory (estimated) the encoder keeps about recorded objects for references; past it they are all forgotten and met again as new (0: forgotten after every value)' },
  { key: 'valueShapeWitness', env: 'NODEREC_VALUE_SHAPE_WITNESS', flag: '--value-shape-witness', kind: { t: 'bool' }, doc: "experimental: read a fresh object's properties with plain reads when V8 shows it has the map of a private object of the same keys (turns V8's process-wide --allow-natives-syntax on for one compilation at start-up)" },
  { key: 'captureValues', env: 'NODEREC_CAPTURE_VALUES', flag: '--values', kind: { t: 'bool' }, doc: 'record argument and return values (`--no-values` turns them off)' },
  { key: 'clock', env: 'NODEREC_CLOCK', flag: '--clock', kind: { t: 'enum', values: ['published', 'precise'] }, doc: 'event times: the published clock (cheap) or a clock read per event' },
  { key: 'stackRoom', env: 'NODEREC_STACK_ROOM', flag: '--stack-room', kind: { t: 'int', min: 100, max: 400 }, doc: "room for recursion, percent of V8's `--stack-size` on the main thread and of a worker's `resourceLimits.stackSizeMb`: instrumented frames are larger, so the recorder moves V8's stack limit (main thread) and creates recorded workers with a larger stack to keep the recursion that works plain working (100: both unchanged)" },
  { key: 'scope', env: 'NODEREC_SCOPE', flag: '--scope', kind: { t: 'enum', values: ['project', 'all'] }, doc: "what is recorded: the project's own code in full and node_modules only at the boundary (calls from the project into a package, their returns and throws), or everything" },
  { key: 'logLevel', env: 'NODEREC_LOG_LEVEL', flag: '--log-level', kind: { t: 'enum', values: ['error', 'warn', 'info', 'debug', 'trace'] }, doc: 'the recorder log level' },
  { key: 'logFile', env: 'NODEREC_LOG_FILE', flag: '--log-file', kind: { t: 'path', nullable: true }, doc: 'write the recorder log here instead of stderr' },
  { key: 'jsonErrors', env: 'NODEREC_JSON_ERRORS', flag: '--json-errors', kind: { t: 'bool' }, doc: 'a failing run ends with one JSON line on stderr' },
  { key: 'cacheDir', env: 'NODEREC_CACHE_DIR', flag: '--cache-dir', kind: { t: 'path', nullable: true }, doc: 'where instrumented modules are cached (0700; not used if another user owns it)' },
  { key: 'noCache', env: 'NODEREC_NO_CACHE', flag: '--no-cache', kind: { t: 'bool' }, doc: 'do not use the instrumentation cache' },
  { key: 'clearHoldMb', env: 'NODEREC_CLEAR_HOLD_MB', flag: '--clear-hold-mb', kind: { t: 'int', min: 1 }, doc: 'MiB of events held back for runs with `clear` until they end; past it the oldest are written (their run is kept)' },
  { key: 'jsonlTopTime', env: 'NODEREC_JSONL_TOP_TIME', flag: '--jsonl-top-time', kind: { t: 'bool' }, doc: 'jsonl exports: run, span and log lines also carry their time at the top level, `t` (compatibility; read by `noderec export`)' },
  { key: 'spanChannels', env: 'NODEREC_SPAN_CHANNELS', flag: '--span-channels', kind: { t: 'names' }, doc: 'TracingChannel names, comma-separated: each operation a library publishes on one (`traceSync`, `tracePromise`, `traceCallback`) becomes a span named after the channel, its context object as the start attributes, status error when it throws or rejects' },
];

export const SETTING_BY_KEY: ReadonlyMap<PolicyKey, Setting> = new Map(SETTINGS.map((s) => [s.key, s]));
export const SETTING_BY_ENV: ReadonlyMap<string, Setting> = new Map(SETTINGS.map((s) => [s.env, s]));
export const SETTING_BY_FLAG: ReadonlyMap<string, Setting> = new Map(SETTINGS.map((s) => [s.flag, s]));

export class PolicyError extends Error {
  readonly code = 'ERR_INVALID_POLICY_VALUE';
  constructor(
    /** The variable, flag or option that was given the value. */
    readonly variable: string,
    readonly value: string,
    readonly accepted: string,
  ) {
    super(`${variable}=${JSON.stringify(value)} is not valid: expected ${accepted}`);
    this.name = 'PolicyError';
  }
}

const TRUE = new Set(['1', 'true', 'yes', 'on']);
const FALSE = new Set(['0', 'false', 'no', 'off']);
export const BOOL_ACCEPTED = 'one of 1 true yes on / 0 false no off (any case)';

export function parseBool(variable: string, value: string): boolean {
  const v = value.trim().toLowerCase();
  if (TRUE.has(v)) return true;
  if (FALSE.has(v)) return false;
  throw new PolicyError(variable, value, BOOL_ACCEPTED);
}

function intAccepted(min: number, max?: number): string {
  return max === undefined ? `an integer >= ${min}` : `an integer from ${min} to ${max}`;
}

export function parseInteger(variable: string, value: string, min: number, max?: number): number {
  const v = value.trim();
  const n = Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n) || n < min || (max !== undefined && n > max)) {
    throw new PolicyError(variable, value, intAccepted(min, max));
  }
  return n;
}

export function oneOf<T extends string>(variable: string, value: string, accepted: readonly T[]): T {
  const v = value.trim().toLowerCase();
  if ((accepted as readonly string[]).includes(v)) return v as T;
  throw new PolicyError(variable, value, `one of ${accepted.join(' | ')}`);
}

/** One name of a `names` setting: printable, no space, no comma. */
const NAME = /^[\x21-\x2b\x2d-\x7e]+$/;

/** What a setting accepts, in words. */
export function accepted(s: Setting): string {
  const k = s.kind;
  switch (k.t) {
    case 'bool':
      return BOOL_ACCEPTED;
    case 'int':
      return intAccepted(k.min, k.max);
    case 'enum':
      return `one of ${k.values.join(' | ')}`;
    case 'path':
      return 'a non-empty path';
    case 'paths':
      return 'paths separated by ::';
    case 'names':
      return 'names separated by commas (no spaces)';
  }
}

/** Parses the text of a setting (an environment variable or a flag value);
 * `name` is what the error names. */
export function parseSetting(s: Setting, text: string, name: string = s.env): unknown {
  const k = s.kind;
  switch (k.t) {
    case 'bool':
      return parseBool(name, text);
    case 'int':
      return parseInteger(name, text, k.min, k.max);
    case 'enum':
      return oneOf(name, text, k.values);
    case 'path':
      if (text.length === 0 || text.includes('\0')) throw new PolicyError(name, text, accepted(s));
      return text;
    case 'paths': {
      const parts = text.split('::').filter((p) => p.length > 0);
      if (parts.some((p) => p.includes('\0'))) throw new PolicyError(name, text, accepted(s));
      return parts;
    }
    case 'names': {
      const parts = text.split(',');
      if (parts.some((p) => !NAME.test(p))) throw new PolicyError(name, text, accepted(s));
      return parts;
    }
  }
}

/** Validates one API option value (typed, or text as in the environment).
 * Errors name the option and its variable: `maxEvents (NODEREC_MAX_EVENTS)`. */
export function validateOption(key: string, value: unknown): unknown {
  const s = SETTING_BY_KEY.get(key as PolicyKey);
  if (s === undefined) {
    throw new PolicyError(key, String(value), `a policy option (${SETTINGS.map((x) => x.key).join(', ')})`);
  }
  const name = `${s.key} (${s.env})`;
  const k = s.kind;
  const bad = (): never => {
    throw new PolicyError(name, typeof value === 'string' ? value : safeString(value), accepted(s));
  };
  if (typeof value === 'string') {
    if (k.t === 'path' && k.nullable && value === '') return null;
    return parseSetting(s, value, name);
  }
  switch (k.t) {
    case 'bool':
      return typeof value === 'boolean' ? value : bad();
    case 'int':
      return typeof value === 'number' && Number.isSafeInteger(value) && value >= k.min && (k.max === undefined || value <= k.max)
        ? value
        : bad();
    case 'enum':
      return bad();
    case 'path':
      return value === null && k.nullable ? null : bad();
    case 'paths':
      return Array.isArray(value) && value.every((p) => typeof p === 'string' && p.length > 0 && !p.includes('\0'))
        ? [...(value as string[])]
        : bad();
    case 'names':
      return Array.isArray(value) && value.every((p) => typeof p === 'string' && NAME.test(p)) ? [...(value as string[])] : bad();
  }
}

function safeString(v: unknown): string {
  try {
    return typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v);
  } catch {
    return Object.prototype.toString.call(v);
  }
}

/** Validates a partial policy (API options); unknown keys are errors.
 * `undefined` values are ignored. */
export function validatePartial(partial: object, ignore: readonly string[] = []): Partial<Policy> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(partial)) {
    if (v === undefined || ignore.includes(k)) continue;
    out[k] = validateOption(k, v);
  }
  return out as Partial<Policy>;
}
