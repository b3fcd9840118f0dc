// Per-component settings (issue 13, design-docs/runs.md *Components*): a
// worker thread or a child process is a component with its own recording
// settings, given where the orchestrating code already passes data —
// `workerData.__noderec__` for a worker, `NODEREC_COMPONENT` in a child's
// environment — or registered by `configure(component, settings)` in the
// parent (kept in `process.env.NODEREC_COMPONENTS`, which workers created
// and children spawned afterwards inherit). The component's recording is
// a run named `<parentRunId>/<component>` (or `<component>`), and a child
// process's trace directory is named after it.
import { currentRunId } from './runs';

/** A component's recording settings. */
export interface ComponentSettings {
  /** false: the component records nothing. */
  enabled?: boolean;
  /** Events recorded by the component's thread (process: the policy's maxEvents). */
  maxEvents?: number;
  /** false: the child process's trace directory is removed when it ends. */
  persist?: boolean;
  /** Where the child process's trace directory goes. */
  outDir?: string;
  /** The run the component belongs to (default: the run current at configure()). */
  parentRunId?: string;
}

export const COMPONENTS_ENV = 'NODEREC_COMPONENTS';
export const COMPONENT_ENV = 'NODEREC_COMPONENT';
const KEYS = ['enabled', 'maxEvents', 'persist', 'outDir', 'parentRunId'];

function settingsError(component: string, message: string): TypeError & { code: string } {
  const e = new TypeError(`noderec.configure('${component}', settings): ${message}`) as TypeError & { code: string };
  e.code = 'ERR_NODEREC_COMPONENT_SETTINGS';
  return e;
}

/** Checks a component's settings; throws ERR_NODEREC_COMPONENT_SETTINGS naming what is wrong. */
export function validateSettings(component: unknown, settings: unknown): ComponentSettings {
  const id = String(component);
  if (typeof component !== 'string' || component === '') throw settingsError(id, 'the component id must be a non-empty string');
  if (typeof settings !== 'object' || settings === null) throw settingsError(id, `settings must be an object, got ${settings === null ? 'null' : typeof settings}`);
  const s = settings as Record<string, unknown>;
  for (const k of Object.keys(s)) {
    if (!KEYS.includes(k)) throw settingsError(id, `unknown setting '${k}' (known: ${KEYS.join(', ')})`);
  }
  for (const k of ['enabled', 'persist']) {
    if (s[k] !== undefined && typeof s[k] !== 'boolean') throw settingsError(id, `${k} must be a boolean, got ${typeof s[k]}`);
  }
  if (s.maxEvents !== undefined && !(typeof s.maxEvents === 'number' && Number.isInteger(s.maxEvents) && s.maxEvents >= 0)) {
    throw settingsError(id, `maxEvents must be an integer >= 0, got ${String(s.maxEvents)}`);
  }
  for (const k of ['outDir', 'parentRunId']) {
    if (s[k] !== undefined && (typeof s[k] !== 'string' || s[k] === '')) throw settingsError(id, `${k} must be a non-empty string`);
  }
  return { ...(s as ComponentSettings) };
}

function registered(): Record<string, ComponentSettings> {
  const text = process.env[COMPONENTS_ENV];
  if (text === undefined || text === '') return {};
  const v = JSON.parse(text) as unknown;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${COMPONENTS_ENV} is not a JSON object`);
  return v as Record<string, ComponentSettings>;
}

/** Gives `component` its own recording settings: workers created and child
 * processes spawned after this call that name it (`workerData.__noderec__ =
 * { component }`, `NODEREC_COMPONENT=<id>`) use them. Called inside a run,
 * that run becomes the component's parent. Works with or without a
 * recording (it only writes `process.env.NODEREC_COMPONENTS`). */
export function configure(component: string, settings: ComponentSettings): void {
  const s = validateSettings(component, settings);
  if (s.parentRunId === undefined) {
    const r = currentRunId();
    if (r !== null) s.parentRunId = r;
  }
  let all: Record<string, ComponentSettings>;
  try {
    all = registered();
  } catch {
    all = {};
  }
  all[component] = { ...all[component], ...s };
  process.env[COMPONENTS_ENV] = JSON.stringify(all);
}

export interface Component {
  id: string;
  settings: ComponentSettings;
}

/** The component this thread or process is, if any: from `workerData`
 * (worker threads) or NODEREC_COMPONENT (a process's main thread), with
 * what configure() registered for it under the inline settings. Throws
 * ERR_NODEREC_COMPONENT_SETTINGS for bad settings. */
export function componentOf(inWorker: boolean, workerData: unknown): Component | null {
  let id: unknown;
  let inline: Record<string, unknown> = {};
  if (inWorker) {
    const d = typeof workerData === 'object' && workerData !== null ? (workerData as { __noderec__?: unknown }).__noderec__ : undefined;
    if (typeof d !== 'object' || d === null) return null;
    const { component, ...rest } = d as Record<string, unknown>;
    id = component;
    inline = rest;
  } else {
    id = process.env[COMPONENT_ENV];
    if (id === undefined || id === '') return null;
  }
  if (typeof id !== 'string' || id === '') throw settingsError(String(id), 'workerData.__noderec__.component must be a non-empty string');
  let fromParent: ComponentSettings | undefined;
  try {
    fromParent = registered()[id];
  } catch (e) {
    throw settingsError(id, `${COMPONENTS_ENV}: ${String((e as Error).message)}`);
  }
  const base = fromParent === undefined ? {} : validateSettings(id, fromParent);
  return { id, settings: { ...base, ...validateSettings(id, inline) } };
}

/** The component's run id and its trace name: `<parentRunId>/<id>` and `<parentRunId>.<id>`. */
export function componentRunId(c: Component): string {
  return c.settings.parentRunId === undefined ? c.id : `${c.settings.parentRunId}/${c.id}`;
}
