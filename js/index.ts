// Public API of noderec.
export { start, stop, flush, isRecording, record, traceDir } from './tracer';
export type { StartOptions, RecorderError } from './tracer';
export {
  configurePolicy,
  configurePolicyFromEnv,
  policySnapshot,
  policyFromEnv,
  DEFAULT_POLICY,
  PolicyError,
  SETTINGS,
} from './policy/env';
export type { Policy, Setting } from './policy/env';
export { run, span, startSpan, log, uuidv7 } from './runs';
export type { RunOptions, Span } from './runs';
export { configure } from './components';
export type { ComponentSettings } from './components';
export { metricsSnapshot, onMetrics } from './logging/metrics';
export type { Metrics } from './logging/metrics';
export { listTraces, getTrace, timeline, callTree, getCall, valueHistory, compare, calls, runs, spans } from './query';
export type {
  RunInfo,
  RunFilter,
  SpanInfo,
  CallsQuery,
  CallRow,
  TraceListEntry,
  TraceInfo,
  TraceStatus,
  Activation,
  CallValues,
  CallDetail,
  TimelineQuery,
  TimelinePage,
  HistoryEntry,
  Change,
  CompareRow,
  FnStats,
} from './query';
