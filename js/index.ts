// Public API of noderec.
export { start, stop, flush, isRecording, traceDir } from './tracer';
export type { StartOptions } from './tracer';
export { policyFromEnv, DEFAULT_POLICY, PolicyError } from './policy/env';
export type { Policy } from './policy/env';
