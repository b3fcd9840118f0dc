// Policy from the environment, and the process-wide policy: defaults, then
// the environment, then `configurePolicy()` / API options (each later layer
// wins). Every value goes through the one validator in ./model.
import { DEFAULT_POLICY, Policy, PolicyError, PolicyKey, SETTINGS, SETTING_BY_KEY, parseSetting, validateOption, validatePartial } from './model';

export {
  DEFAULT_POLICY,
  PolicyError,
  SETTINGS,
  parseBool,
  parseInteger,
  validatePartial,
  validateOption,
} from './model';
export type { Policy, PolicyKey, Setting, LogLevel, CaptureIo, OnRecorderError } from './model';

/** The settings `env` sets (empty values count as unset). Throws PolicyError. */
export function policyLayerFromEnv(env: NodeJS.ProcessEnv = process.env): Partial<Policy> {
  const out: Record<string, unknown> = {};
  for (const s of SETTINGS) {
    const v = env[s.env];
    if (v === undefined || v === '') continue;
    out[s.key] = parseSetting(s, v);
  }
  return out as Partial<Policy>;
}

/** One setting as the environment gives it, through the table: undefined
 * when its variable is unset or empty. Throws PolicyError for a bad value of
 * this variable only (the others are not read). */
export function envSetting<K extends PolicyKey>(key: K, env: NodeJS.ProcessEnv = process.env): Policy[K] | undefined {
  const s = SETTING_BY_KEY.get(key);
  if (s === undefined) return undefined;
  const v = env[s.env];
  if (v === undefined || v === '') return undefined;
  return parseSetting(s, v) as Policy[K];
}

/** `envSetting`, or undefined for a bad value too: what can still be read of
 * an environment that is being reported as bad. */
export function envSettingLenient<K extends PolicyKey>(key: K, env: NodeJS.ProcessEnv = process.env): Policy[K] | undefined {
  try {
    return envSetting(key, env);
  } catch {
    return undefined;
  }
}

/** Reads the policy from `env` over the defaults. Throws PolicyError. */
export function policyFromEnv(env: NodeJS.ProcessEnv = process.env): Policy {
  return { ...DEFAULT_POLICY, traceFilter: [], ...policyLayerFromEnv(env) };
}

let envLayer: Partial<Policy> | null = null;
let apiLayer: Partial<Policy> = {};

function env(): Partial<Policy> {
  if (envLayer === null) envLayer = policyLayerFromEnv(process.env);
  return envLayer;
}

/** Re-reads the environment layer (`process.env` unless given). Throws
 * PolicyError on a bad value, leaving the previous layer in place. Returns
 * the effective policy. */
export function configurePolicyFromEnv(e: NodeJS.ProcessEnv = process.env): Readonly<Policy> {
  envLayer = policyLayerFromEnv(e);
  return policySnapshot();
}

/** Sets policy from the API: these values beat the environment for every
 * later `start()`. `null` for a nullable path clears it; `undefined` is
 * ignored. Throws PolicyError naming the option, the value and what is
 * accepted. Returns the effective policy. */
export function configurePolicy(partial: Partial<Policy>): Readonly<Policy> {
  if (partial === null || typeof partial !== 'object') {
    throw new PolicyError('configurePolicy(partial)', String(partial), 'an object of policy options');
  }
  apiLayer = { ...apiLayer, ...validatePartial(partial) };
  return policySnapshot();
}

/** Forgets `configurePolicy()` values and the cached environment (tests). */
export function resetPolicy(): void {
  apiLayer = {};
  envLayer = null;
}

/** The effective policy: defaults < environment < configurePolicy(). */
export function policySnapshot(): Readonly<Policy> {
  const p: Policy = { ...DEFAULT_POLICY, traceFilter: [], ...env(), ...apiLayer };
  p.traceFilter = [...p.traceFilter];
  return Object.freeze(p);
}

/** The filter files given through the API (`start({ traceFilter })`, else
 * `configurePolicy({ traceFilter })`); they come after the environment's
 * in the chain. */
export function apiTraceFilter(options: { traceFilter?: unknown } = {}): string[] {
  if (options.traceFilter !== undefined) return validateOption('traceFilter', options.traceFilter) as string[];
  return [...(apiLayer.traceFilter ?? [])];
}

/** The policy for one `start(options)`: the snapshot, then the options. */
export function resolvePolicy(options: object = {}, ignore: readonly string[] = []): Policy {
  return { ...policySnapshot(), ...validatePartial(options, ignore) } as Policy;
}
