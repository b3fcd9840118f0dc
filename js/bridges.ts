// Bridges from what Node already publishes to spans (issue 13), through
// node:diagnostics_channel, with no code in the program:
// - `http.server.request.start` / `http.server.response.finish`: a span
//   `http.server` per request (method, url; statusCode at its end; status
//   error for 5xx);
// - `http.client.request.start` / `http.client.response.finish` /
//   `http.client.request.error` (http.get, http.request) and undici's
//   `undici:request:create` / `:headers` / `:trailers` / `:error` (fetch):
//   a span `http.client` per request (method, url; statusCode; status
//   error for 4xx, 5xx or a failed request).
// - every TracingChannel named in `NODEREC_SPAN_CHANNELS` (a library's own
//   `diagnostics_channel.tracingChannel(name)`: Node offers no way to list
//   channels, so they are named): a span per traced operation, named after
//   the channel, its context object (what the library passed) as the start
//   attributes; it ends at `end` for `traceSync` (the context then holds
//   `result` or `error`) and at `asyncEnd` for `tracePromise` and
//   `traceCallback`, status error (and the error's message) when the
//   context holds an `error`.
// A program that never uses http pays nothing but the subscriptions (Node
// builds the messages only for channels with subscribers). The spans are
// marks at the position where Node publishes; they do not change any
// object of the program.
import * as dc from 'node:diagnostics_channel';

import { endSpan, startSpan, type Span } from './runs';
import { ObjectGetOwnPropertyDescriptor, uncurry, WeakMapPrototypeDelete, WeakMapPrototypeGet, WeakMapPrototypeSet } from './runtime/primordials';

let installed = false;

// Per request, while the program runs: captured built-ins only (decision 54).
const ObjectPrototypeToString = uncurry<string>(Object.prototype.toString);

/** Open spans by response (a request's response object is its identity). */
const open = new WeakMap<object, Span>();

function onRequestStart(message: unknown): void {
  try {
    const m = message as { request?: { method?: unknown; url?: unknown }; response?: object };
    if (m.response === undefined || m.request === undefined) return;
    WeakMapPrototypeSet(open, m.response, startSpan('http.server', { method: String(m.request.method), url: String(m.request.url) }));
  } catch {
    // A bridge never disturbs the program.
  }
}

function onResponseFinish(message: unknown): void {
  try {
    const m = message as { response?: { statusCode?: unknown } & object };
    if (m.response === undefined) return;
    const s = WeakMapPrototypeGet(open, m.response) as Span | undefined;
    if (s === undefined) return;
    WeakMapPrototypeDelete(open, m.response);
    const code = m.response.statusCode;
    endSpan(s, typeof code === 'number' && code >= 500, { statusCode: code });
  } catch {
    // A bridge never disturbs the program.
  }
}

interface ClientRequestLike {
  method?: unknown;
  protocol?: unknown;
  host?: unknown;
  path?: unknown;
  origin?: unknown;
  getHeader?: (name: string) => unknown;
}

/** Open client spans by request object (http's ClientRequest or undici's Request). */
const client = new WeakMap<object, Span>();

function startClient(req: ClientRequestLike, url: string): void {
  WeakMapPrototypeSet(client, req as object, startSpan('http.client', { method: String(req.method), url }));
}

function endClient(req: object | undefined, error: boolean, attrs: Record<string, unknown>): void {
  if (req === undefined) return;
  const s = WeakMapPrototypeGet(client, req) as Span | undefined;
  if (s === undefined) return;
  WeakMapPrototypeDelete(client, req);
  endSpan(s, error, attrs);
}

function onClientStart(message: unknown): void {
  try {
    const req = (message as { request?: ClientRequestLike }).request;
    if (req === undefined) return;
    const hostHeader = typeof req.getHeader === 'function' ? req.getHeader('host') : undefined;
    startClient(req, `${String(req.protocol ?? 'http:')}//${String(hostHeader ?? req.host)}${String(req.path)}`);
  } catch {
    // A bridge never disturbs the program.
  }
}

function onClientFinish(message: unknown): void {
  try {
    const m = message as { request?: object; response?: { statusCode?: unknown } };
    const code = m.response?.statusCode;
    endClient(m.request, typeof code === 'number' && code >= 400, { statusCode: code });
  } catch {
    // A bridge never disturbs the program.
  }
}

function onClientError(message: unknown): void {
  try {
    const m = message as { request?: object; error?: { message?: unknown; code?: unknown } };
    endClient(m.request, true, { error: String(m.error?.code ?? m.error?.message ?? 'error') });
  } catch {
    // A bridge never disturbs the program.
  }
}

/** undici requests: statusCode known at the headers, the span ends at the trailers (the body read). */
const undiciStatus = new WeakMap<object, unknown>();

function onUndiciCreate(message: unknown): void {
  try {
    const req = (message as { request?: ClientRequestLike }).request;
    if (req === undefined) return;
    startClient(req, `${String(req.origin)}${String(req.path)}`);
  } catch {
    // A bridge never disturbs the program.
  }
}

function onUndiciHeaders(message: unknown): void {
  try {
    const m = message as { request?: object; response?: { statusCode?: unknown } };
    if (m.request !== undefined) WeakMapPrototypeSet(undiciStatus, m.request, m.response?.statusCode);
  } catch {
    // A bridge never disturbs the program.
  }
}

function onUndiciTrailers(message: unknown): void {
  try {
    const req = (message as { request?: object }).request;
    if (req === undefined) return;
    const code = WeakMapPrototypeGet(undiciStatus, req);
    WeakMapPrototypeDelete(undiciStatus, req);
    endClient(req, typeof code === 'number' && code >= 400, { statusCode: code });
  } catch {
    // A bridge never disturbs the program.
  }
}

/** Open spans of TracingChannel operations, by context object. */
const traced = new WeakMap<object, Span>();

/** The value of an own data property, without running a getter (undefined if absent or an accessor). */
function own(o: object, key: string): { value: unknown } | undefined {
  const d = ObjectGetOwnPropertyDescriptor(o, key);
  return d !== undefined && 'value' in d ? { value: d.value } : undefined;
}

function endTraced(ctx: object): void {
  const s = WeakMapPrototypeGet(traced, ctx) as Span | undefined;
  if (s === undefined) return;
  WeakMapPrototypeDelete(traced, ctx);
  const err = own(ctx, 'error');
  if (err === undefined) {
    endSpan(s, false, {});
    return;
  }
  const e = err.value;
  let message: unknown = e;
  if (typeof e === 'object' && e !== null) message = own(e, 'message')?.value ?? ObjectPrototypeToString(e);
  endSpan(s, true, { error: String(message) });
}

/** Handlers of one TracingChannel: a span per traced operation. */
function tracingHandlers(name: string): dc.TracingChannelSubscribers<object> {
  return {
    start(ctx: unknown): void {
      try {
        if (typeof ctx !== 'object' || ctx === null) return;
        WeakMapPrototypeSet(traced, ctx, startSpan(name, ctx as Record<string, unknown>));
      } catch {
        // A bridge never disturbs the program.
      }
    },
    end(ctx: unknown): void {
      try {
        // traceSync sets `result` or `error` before `end`; tracePromise and
        // traceCallback end at `asyncEnd` (unless the call threw at once).
        if (typeof ctx === 'object' && ctx !== null && (own(ctx, 'result') !== undefined || own(ctx, 'error') !== undefined)) endTraced(ctx);
      } catch {
        // A bridge never disturbs the program.
      }
    },
    asyncStart(): void {},
    asyncEnd(ctx: unknown): void {
      try {
        if (typeof ctx === 'object' && ctx !== null) endTraced(ctx);
      } catch {
        // A bridge never disturbs the program.
      }
    },
    error(): void {},
  };
}

/** TracingChannels subscribed by this thread, with their handlers. */
const tracing: [dc.TracingChannel<unknown, object>, dc.TracingChannelSubscribers<object>][] = [];

const SUBSCRIPTIONS: readonly (readonly [string, (message: unknown) => void])[] = [
  ['http.server.request.start', onRequestStart],
  ['http.server.response.finish', onResponseFinish],
  ['http.client.request.start', onClientStart],
  ['http.client.response.finish', onClientFinish],
  ['http.client.request.error', onClientError],
  ['undici:request:create', onUndiciCreate],
  ['undici:request:headers', onUndiciHeaders],
  ['undici:request:trailers', onUndiciTrailers],
  ['undici:request:error', onClientError],
];

/** Subscribes this thread's bridges (once); `channels`: the TracingChannel
 * names of `NODEREC_SPAN_CHANNELS`. */
export function installBridges(channels: readonly string[] = []): void {
  if (installed) return;
  installed = true;
  try {
    for (const [name, fn] of SUBSCRIPTIONS) dc.subscribe(name, fn);
  } catch {
    // A Node without these channels: no http spans.
  }
  for (const name of channels) {
    try {
      const tc = dc.tracingChannel<unknown, object>(name);
      const h = tracingHandlers(name);
      tc.subscribe(h);
      tracing.push([tc, h]);
    } catch {
      // A Node without TracingChannel: no spans for it.
    }
  }
}

/** Unsubscribes this thread's bridges (for bench/http-bridge.js, which
 * measures what they cost per request). */
export function uninstallBridges(): void {
  if (!installed) return;
  installed = false;
  // At stop, maybe while the program runs: no for-of, no splice (decision 54).
  for (let i = 0; i < SUBSCRIPTIONS.length; i++) dc.unsubscribe(SUBSCRIPTIONS[i][0], SUBSCRIPTIONS[i][1]);
  for (let i = 0; i < tracing.length; i++) tracing[i][0].unsubscribe(tracing[i][1]);
  tracing.length = 0;
}
