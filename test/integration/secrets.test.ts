// Secrets under the built-in default filter, both directions: a corpus of
// realistic secrets (an HTTP server's request with rawHeaders, an outgoing
// request's _header and outputData, URLs with user:password@ and ?token=,
// process.env and copies of it, arguments named key/pin/otp/pw, functions
// that return a password or an API key, fetch Headers and their entries,
// Bearer/Basic credentials, JWTs, PEM keys) must not reach the trace; and
// look-alikes (a parser's numeric token, a keyboard, tokenize(), a numeric
// key, e-mail addresses, URLs without credentials, plain word lists, keys
// such as author/passenger/keyboard) must stay as they are.
import { describe, expect, it } from 'vitest';

import { Event, events, fixture, onlyTrace, runNode } from '../helpers/run';

const REDACTED = (type: string) => ({ $: 'redacted', type });

describe('secrets under the default filter', () => {
  const r = runNode(fixture('secrets', 'main.js'));
  const dir = r.code === 0 ? onlyTrace(r.outDir) : '';
  const evs: Event[] = dir === '' ? [] : events(dir);
  const text = evs.map((e) => JSON.stringify(e)).join('\n');
  const call = (fn: string): Event => {
    const e = evs.find((x) => x.kind === 'call' && x.fn === fn);
    if (e === undefined) throw new Error(`no call of ${fn}`);
    return e;
  };
  const ret = (fn: string): Event => {
    const e = evs.find((x) => x.kind === 'return' && x.fn === fn);
    if (e === undefined) throw new Error(`no return of ${fn}`);
    return e;
  };

  it('the program runs as without the recorder', () => {
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('done\n');
  });

  const SECRETS: Record<string, string> = {
    bearer: 'c2lnbmF0dXJlMTIz',
    basic: 'YWRtaW46aHVudGVyMg==',
    cookie: 'abc123secretcookie',
    dbPassword: 'Pg-Pass-9f8e7d',
    urlPassword: 'url-pass-0a1b2c',
    queryToken: 'qtok-5d6e7f8a9b',
    aws: 'AKIAIOSFODNN7EXAMPLE',
    stripe: '4eC39HqLyjWDarjtT1zdp7dc',
    pem: 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASC',
    key: 'k-9c8b7a6d5e',
    otp: '918273',
    pw: 'pw-7h6g5f',
    password: 'correct horse battery staple',
    apiKey: 'sk_live_51HxYzAbCdEfGhIjKlMnOp',
  };
  for (const [name, secret] of Object.entries(SECRETS)) {
    it(`${name} does not reach the trace`, () => {
      expect(evs.length).toBeGreaterThan(0);
      expect(text).not.toContain(secret);
    });
  }

  it('rawHeaders keep the header names and redact the secret values', () => {
    const raw = call('seeRawHeaders').args?.[0] as unknown[];
    const i = raw.findIndex((x) => typeof x === 'string' && x.toLowerCase() === 'authorization');
    expect(i).toBeGreaterThanOrEqual(0);
    expect(raw[i + 1]).toEqual(REDACTED('string'));
    expect(raw).toContain('Host');
  });

  it('URLs keep everything but the password and secret parameters', () => {
    const urls = evs.filter((e) => e.kind === 'call' && e.fn === 'connect').map((e) => e.args?.[0]);
    expect(urls[0]).toBe('postgres://app:[redacted]@db.internal:5432/shop');
    expect(urls[1]).toBe('https://user:[redacted]@example.com/path?token=[redacted]&page=2');
    expect(call('logLine').args?.[0]).toBe('retrying https://api.example.com/v1/items?access_token=[redacted]&limit=10 after 3 failures');
  });

  it('process.env keeps harmless variables and redacts the rest', () => {
    const env = call('configure').args?.[0] as { props: Record<string, unknown> };
    expect(env.props.NODE_ENV).toBe('production');
    // PATH is kept (its start: under `npm test` it is longer than the string bound).
    const p = env.props.PATH as string | { $: string; v: string };
    expect(typeof p === 'string' ? p : p.v).toBe((process.env.PATH ?? '').slice(0, typeof p === 'string' ? undefined : p.v.length));
    for (const k of ['DATABASE_URL', 'AWS_ACCESS_KEY_ID', 'STRIPE_KEY']) expect(env.props[k]).toEqual(REDACTED('string'));
    // A copy of it (as passed to child_process): the variables that look secret.
    const copy = (call('spawnWith').args?.[0] as { props: { env: { props: Record<string, unknown> } } }).props.env.props;
    expect(copy.NODE_ENV).toBe('production');
    expect(copy.EXTRA).toBe('1');
    expect(copy.AWS_ACCESS_KEY_ID).toEqual(REDACTED('string'));
    expect(copy.STRIPE_KEY).toEqual(REDACTED('string'));
    expect(copy.DATABASE_URL).toBe('postgres://app:[redacted]@db.internal/shop');
  });

  it('arguments named key, pin, otp, pw are redacted, whatever their type', () => {
    expect(call('unlock').args).toEqual([REDACTED('string'), REDACTED('number'), REDACTED('string'), REDACTED('string')]);
  });

  it('getPassword() and readApiKey() return redacted strings', () => {
    expect(ret('getPassword').value).toEqual(REDACTED('string'));
    expect(ret('readApiKey').value).toEqual(REDACTED('string'));
  });

  it('Headers entries, as arrays of pairs and as a Map, keep names and redact secret values', () => {
    const [, entries, map] = call('seeHeaders').args as [unknown, [string, unknown][], { entries: [string, unknown][] }];
    expect(entries).toEqual([
      ['accept', 'application/json'],
      ['authorization', REDACTED('string')],
    ]);
    expect(map.entries).toEqual(entries);
  });

  it('look-alikes stay: a numeric token, a keyboard, tokenize(), a numeric key, e-mail, plain URLs, word lists, author/passenger keys', () => {
    expect(call('next').args).toEqual([7]);
    expect(call('press').args).toEqual(['enter']);
    expect(call('tokenize').args).toEqual(['let x = 1']);
    expect(ret('tokenize').value).toEqual(['let', 'x', '=', '1']);
    expect(call('lookup').args).toEqual([3]);
    expect(call('email').args).toEqual(['ada@example.com']);
    expect(call('fetchPage').args).toEqual(['https://example.com/search?q=tokens&page=2']);
    expect(call('words').args).toEqual([['alpha', 'beta', 'gamma', 'delta']]);
    expect((call('describe').args?.[0] as { props: unknown }).props).toEqual({ author: 'ada', passenger: 'bob', keyboard: 'us', monkey: 1 });
  });
});
