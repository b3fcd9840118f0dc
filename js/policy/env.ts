// Policy from the environment (the table in README / design.md).
// Every variable is parsed and validated here, in one place.

export interface Policy {
  disabled: boolean;
  outDir: string;
  traceFilter: string[];
  onRecorderError: 'abort' | 'disable';
  requireTrace: boolean;
  keepPartialTrace: boolean;
  captureIo: 'off' | 'proxies' | 'proxies+fd';
  activationPath: string | null;
  maxEvents: number;
  valueDepth: number;
  valueItems: number;
  valueString: number;
  valueThisDepth: number;
  captureValues: boolean;
  logLevel: 'error' | 'warn' | 'info' | 'debug' | 'trace';
  logFile: string | null;
  jsonErrors: boolean;
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
  captureValues: true,
  logLevel: 'warn',
  logFile: null,
  jsonErrors: false,
});

export class PolicyError extends Error {
  readonly code = 'ERR_INVALID_POLICY_VALUE';
  constructor(
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

export function parseBool(variable: string, value: string): boolean {
  const v = value.trim().toLowerCase();
  if (TRUE.has(v)) return true;
  if (FALSE.has(v)) return false;
  throw new PolicyError(variable, value, 'one of 1 true yes on / 0 false no off (any case)');
}

export function parseInteger(variable: string, value: string, min: number): number {
  const v = value.trim();
  if (!/^\d+$/.test(v) || Number(v) < min || !Number.isSafeInteger(Number(v))) {
    throw new PolicyError(variable, value, `an integer >= ${min}`);
  }
  return Number(v);
}

function oneOf<T extends string>(variable: string, value: string, accepted: readonly T[]): T {
  const v = value.trim().toLowerCase();
  if ((accepted as readonly string[]).includes(v)) return v as T;
  throw new PolicyError(variable, value, `one of ${accepted.join(' | ')}`);
}

/** Reads the policy from `env` over the defaults. Throws PolicyError. */
export function policyFromEnv(env: NodeJS.ProcessEnv = process.env): Policy {
  const p: Policy = { ...DEFAULT_POLICY, traceFilter: [] };
  const get = (k: string): string | undefined => {
    const v = env[k];
    return v === undefined || v === '' ? undefined : v;
  };
  let v: string | undefined;
  if ((v = get('NODEREC_DISABLED')) !== undefined) p.disabled = parseBool('NODEREC_DISABLED', v);
  if ((v = get('NODEREC_OUT_DIR')) !== undefined) p.outDir = v;
  if ((v = get('NODEREC_TRACE_FILTER')) !== undefined) p.traceFilter = v.split('::').filter((s) => s.length > 0);
  if ((v = get('NODEREC_ON_RECORDER_ERROR')) !== undefined)
    p.onRecorderError = oneOf('NODEREC_ON_RECORDER_ERROR', v, ['abort', 'disable'] as const);
  if ((v = get('NODEREC_REQUIRE_TRACE')) !== undefined) p.requireTrace = parseBool('NODEREC_REQUIRE_TRACE', v);
  if ((v = get('NODEREC_KEEP_PARTIAL_TRACE')) !== undefined)
    p.keepPartialTrace = parseBool('NODEREC_KEEP_PARTIAL_TRACE', v);
  if ((v = get('NODEREC_CAPTURE_IO')) !== undefined)
    p.captureIo = oneOf('NODEREC_CAPTURE_IO', v, ['off', 'proxies', 'proxies+fd'] as const);
  if ((v = get('NODEREC_ACTIVATION_PATH')) !== undefined) p.activationPath = v;
  if ((v = get('NODEREC_MAX_EVENTS')) !== undefined) p.maxEvents = parseInteger('NODEREC_MAX_EVENTS', v, 1);
  if ((v = get('NODEREC_VALUE_DEPTH')) !== undefined) p.valueDepth = parseInteger('NODEREC_VALUE_DEPTH', v, 0);
  if ((v = get('NODEREC_VALUE_ITEMS')) !== undefined) p.valueItems = parseInteger('NODEREC_VALUE_ITEMS', v, 0);
  if ((v = get('NODEREC_VALUE_STRING')) !== undefined) p.valueString = parseInteger('NODEREC_VALUE_STRING', v, 0);
  if ((v = get('NODEREC_VALUE_THIS_DEPTH')) !== undefined)
    p.valueThisDepth = parseInteger('NODEREC_VALUE_THIS_DEPTH', v, 0);
  if ((v = get('NODEREC_CAPTURE_VALUES')) !== undefined) p.captureValues = parseBool('NODEREC_CAPTURE_VALUES', v);
  if ((v = get('NODEREC_LOG_LEVEL')) !== undefined)
    p.logLevel = oneOf('NODEREC_LOG_LEVEL', v, ['error', 'warn', 'info', 'debug', 'trace'] as const);
  if ((v = get('NODEREC_LOG_FILE')) !== undefined) p.logFile = v;
  if ((v = get('NODEREC_JSON_ERRORS')) !== undefined) p.jsonErrors = parseBool('NODEREC_JSON_ERRORS', v);
  return p;
}
