// Bridges from what Node already publishes to spans (issue 13): Node's http
// server publishes `http.server.request.start` and
// `http.server.response.finish` on node:diagnostics_channel; each request
// becomes a span `http.server` (attributes method and url; statusCode at
// its end) without any code in the program. A program that never serves
// http pays nothing but the subscription (Node builds the messages only
// for channels with subscribers).
import * as dc from 'node:diagnostics_channel';

import { startSpan, type Span } from './runs';

let installed = false;

/** Open spans by response (a request's response object is its identity). */
const open = new WeakMap<object, Span>();

function onRequestStart(message: unknown): void {
  try {
    const m = message as { request?: { method?: unknown; url?: unknown }; response?: object };
    if (m.response === undefined || m.request === undefined) return;
    open.set(m.response, startSpan('http.server', { method: String(m.request.method), url: String(m.request.url) }));
  } catch {
    // A bridge never disturbs the program.
  }
}

function onResponseFinish(message: unknown): void {
  try {
    const m = message as { response?: { statusCode?: unknown } & object };
    if (m.response === undefined) return;
    const s = open.get(m.response);
    if (s === undefined) return;
    open.delete(m.response);
    s.end({ statusCode: m.response.statusCode });
  } catch {
    // A bridge never disturbs the program.
  }
}

/** Subscribes this thread's bridges (once). */
export function installBridges(): void {
  if (installed) return;
  installed = true;
  try {
    dc.subscribe('http.server.request.start', onRequestStart);
    dc.subscribe('http.server.response.finish', onResponseFinish);
  } catch {
    // A Node without these channels: no http spans.
  }
}
