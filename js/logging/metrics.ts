// Recorder metrics: counters only, nothing per event. Native counters come
// from the writer (`metrics()` of the addon); the facade adds drops,
// detaches and failures.
import { native } from '../native';
import type { BindingMetrics } from '../native/binding';
import * as probes from '../runtime/probes';
import { encoderWork } from '../runtime/value-encoder';

export interface Detach {
  reason: string;
  code: string;
  point: string;
}

export interface Metrics {
  /** Events written to the trace (running or last session). */
  eventsRecorded: number;
  /** Events not recorded, by reason: max_events, recorder_error, stopped, inactive, reentrant. */
  eventsDropped: Record<string, number>;
  /** Uncompressed event bytes. */
  bytesRaw: number;
  /** Bytes of trace.nrt. */
  bytesWritten: number;
  chunks: number;
  /** Buffers handed from JavaScript to the writer. */
  buffersFlushed: number;
  /** Time a buffer handover took (copy and send, waits included), µs,
   * upper bounds of log2 buckets. */
  flushLatencyUs: { p50: number; p99: number; count: number };
  /** Handovers that found the writer channel full and waited. */
  channelWaits: number;
  writerBusyMs: number;
  /** Recorder detaches (on_recorder_error=disable), with reason and code. */
  detaches: Detach[];
  /** Recorder failures seen (either mode). */
  failures: number;
  /** Rust panics caught. */
  panics: number;
  /** Rust log records lost because the queue overflowed. */
  logsDropped: number;
  /** Value encoder work in this thread: own keys listed by key enumerations,
   * own properties read (one descriptor each), values recorded as references
   * to an earlier encoding, and of the properties read, those read with a
   * plain read (trusted objects). Bounded by the value bounds per captured value.
   * Also: patches written, memo generations dropped, and memo lookups
   * (WeakMap) of objects met. */
  valueWork: { keysListed: number; propsRead: number; refs: number; plainReads: number; patches: number; memoGenerations: number; memoLookups: number };
  /** How stale an event's clock time could be: the intervals between two exact
   * clock reads of a thread, each cut at the clock tick that marked over it
   * (µs, log2 bucket upper bounds; README *Timing*, decisions.md 35). */
  clockStepUs: { p50: number; p90: number; p99: number; count: number };
}

const detaches: Detach[] = [];
let failures = 0;

export function noteDetach(d: Detach): void {
  if (detaches.length < 100) detaches.push(d);
}

export function noteFailure(): void {
  failures++;
}

function nativeMetrics(): BindingMetrics | null {
  try {
    return native().metrics();
  } catch {
    return null;
  }
}

/** The counters now. */
export function metricsSnapshot(): Metrics {
  const n = nativeMetrics();
  return {
    eventsRecorded: n?.events ?? 0,
    eventsDropped: probes.droppedEvents(),
    bytesRaw: n?.rawBytes ?? 0,
    bytesWritten: n?.fileBytes ?? 0,
    chunks: n?.chunks ?? 0,
    buffersFlushed: n?.buffers ?? 0,
    flushLatencyUs: { p50: n?.flushP50Us ?? 0, p99: n?.flushP99Us ?? 0, count: n?.flushes ?? 0 },
    channelWaits: n?.channelWaits ?? 0,
    writerBusyMs: n?.writerBusyMs ?? 0,
    detaches: detaches.map((d) => ({ ...d })),
    failures,
    panics: n?.panics ?? 0,
    logsDropped: n?.logsDropped ?? 0,
    clockStepUs: { p50: n?.clockStepP50Us ?? 0, p90: n?.clockStepP90Us ?? 0, p99: n?.clockStepP99Us ?? 0, count: n?.clockSteps ?? 0 },
    valueWork: { keysListed: encoderWork[0], propsRead: encoderWork[1], refs: encoderWork[2], plainReads: encoderWork[3], patches: encoderWork[4], memoGenerations: encoderWork[5], memoLookups: encoderWork[6] },
  };
}

/** Calls `callback` with a snapshot every `intervalMs` (the timer does not
 * keep the process alive). Returns a function that stops it. */
export function onMetrics(callback: (m: Metrics) => void, intervalMs = 1000): () => void {
  if (typeof callback !== 'function') throw new TypeError('onMetrics(callback, intervalMs): callback must be a function');
  const ms = Number.isFinite(intervalMs) && intervalMs >= 10 ? intervalMs : 10;
  // An exception thrown by the callback is the program's, as with any timer.
  const t = setInterval(() => callback(metricsSnapshot()), ms);
  t.unref();
  return () => clearInterval(t);
}
