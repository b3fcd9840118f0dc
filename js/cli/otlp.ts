// Sends an OTLP export (a file of varint-length-delimited
// ExportTraceServiceRequest messages, as `noderec export --format otlp`
// writes) to an OTLP/HTTP endpoint: one POST to /v1/traces per request,
// retrying 429/502/503/504 as the OTLP specification asks.
import * as fs from 'node:fs';

export class OtlpError extends Error {
  readonly code = 'ERR_OTLP_EXPORT';
}

function readVarint(buf: Uint8Array, pos: number): [number, number] {
  let v = 0;
  let mul = 1;
  for (let i = 0; i < 10 && pos < buf.length; i++) {
    const b = buf[pos++];
    v += (b & 0x7f) * mul;
    if (b < 0x80) return [v, pos];
    mul *= 128;
  }
  throw new OtlpError('malformed OTLP file (bad length)');
}

/** The requests of an OTLP file. */
export function* otlpRequests(file: string): Generator<Uint8Array> {
  const buf = fs.readFileSync(file);
  let pos = 0;
  while (pos < buf.length) {
    const [len, at] = readVarint(buf, pos);
    if (at + len > buf.length) throw new OtlpError(`malformed OTLP file (request at byte ${pos} is cut)`);
    yield buf.subarray(at, at + len);
    pos = at + len;
  }
}

/** `partial_success` of an ExportTraceServiceResponse: rejected spans and message. */
export function partialSuccess(body: Uint8Array): { rejected: number; message: string } {
  const out = { rejected: 0, message: '' };
  let pos = 0;
  const dec = new TextDecoder();
  const skip = (wt: number, p: number): number => {
    if (wt === 0) return readVarint(body, p)[1];
    if (wt === 1) return p + 8;
    if (wt === 5) return p + 4;
    if (wt === 2) {
      const [l, a] = readVarint(body, p);
      return a + l;
    }
    throw new OtlpError('malformed OTLP response');
  };
  while (pos < body.length) {
    const [key, a] = readVarint(body, pos);
    if (key >>> 3 === 1 && (key & 7) === 2) {
      const [len, b] = readVarint(body, a);
      let p = b;
      while (p < b + len) {
        const [k, c] = readVarint(body, p);
        if (k >>> 3 === 1 && (k & 7) === 0) [out.rejected, p] = readVarint(body, c);
        else if (k >>> 3 === 2 && (k & 7) === 2) {
          const [l, d] = readVarint(body, c);
          out.message = dec.decode(body.subarray(d, d + l));
          p = d + l;
        } else p = skip(k & 7, c);
      }
      pos = b + len;
    } else pos = skip(key & 7, a);
  }
  return out;
}

/** The URL to POST to: `endpoint` itself when it names /v1/traces, else `endpoint/v1/traces`. */
export function tracesUrl(endpoint: string): string {
  let u: URL;
  try {
    u = new URL(endpoint);
  } catch {
    throw new OtlpError(`--endpoint must be an http(s) URL such as http://127.0.0.1:4318, not '${endpoint}'`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new OtlpError(`--endpoint must be http or https, not ${u.protocol}`);
  if (!u.pathname.endsWith('/v1/traces')) u.pathname = u.pathname.replace(/\/$/, '') + '/v1/traces';
  return u.toString();
}

const RETRY = new Set([429, 502, 503, 504]);

/** POSTs every request of `file`; returns how many requests and spans were rejected. */
export async function postOtlp(file: string, endpoint: string): Promise<{ requests: number; rejected: number }> {
  const url = tracesUrl(endpoint);
  let requests = 0;
  let rejected = 0;
  for (const body of otlpRequests(file)) {
    for (let attempt = 0; ; attempt++) {
      let res: Response;
      try {
        res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: body as unknown as BodyInit });
      } catch (e) {
        if (attempt < 4) {
          await new Promise((r) => setTimeout(r, 200 * 2 ** attempt));
          continue;
        }
        throw new OtlpError(`cannot reach ${url}: ${(e as Error).cause instanceof Error ? ((e as Error).cause as Error).message : (e as Error).message}`);
      }
      const reply = new Uint8Array(await res.arrayBuffer());
      if (res.ok) {
        const p = partialSuccess(reply);
        rejected += p.rejected;
        break;
      }
      if (RETRY.has(res.status) && attempt < 4) {
        const after = Number(res.headers.get('retry-after'));
        await new Promise((r) => setTimeout(r, Number.isFinite(after) && after > 0 ? Math.min(after, 10) * 1000 : 200 * 2 ** attempt));
        continue;
      }
      const text = new TextDecoder().decode(reply).slice(0, 300);
      throw new OtlpError(`${url} answered ${res.status} ${res.statusText} to request ${requests + 1}${text ? `: ${text}` : ''}`);
    }
    requests++;
  }
  return { requests, rejected };
}
