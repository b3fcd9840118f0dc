// Secrets and value references together: an object holding secrets that is
// recorded again unchanged becomes a reference to its first encoding. That
// encoding must already be the redacted one (no secret bytes in the trace a
// reference could point at), and every reference must read back exactly as
// the full encoding does (the same events with NODEREC_VALUE_REFS=0).
import { describe, expect, it } from 'vitest';

import { events, fixture, metadata, onlyTrace, runNode, type Event } from '../helpers/run';

const MAIN = fixture('secrets', 'refs.js');
const SECRETS = ['refs-bearer-7Hq2Lm9Xw', 'url-pass-R3f5', 'qtok-R3f5g7h9', 'pw-R3f5-horse', 'sk_live_R3f5g7h9j1k3', 'Pg-R3f5-Pass'];

function recordWith(refs: string): { evs: Event[]; dir: string } {
  const r = runNode(MAIN, { env: { NODEREC_VALUE_REFS: refs } });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(r.stdout).toBe('done\n');
  const dir = onlyTrace(r.outDir);
  return { evs: events(dir), dir };
}

describe('secrets with value references', () => {
  const on = recordWith('1');
  const off = recordWith('0');

  it('no secret reaches the trace, with or without references', () => {
    for (const t of [on, off]) {
      const text = t.evs.map((e) => JSON.stringify(e)).join('\n');
      expect(text).toContain('[redacted]');
      for (const s of SECRETS) expect(text).not.toContain(s);
    }
  });

  it('references read back as the full encoding', () => {
    expect(on.evs.length).toBe(off.evs.length);
    const strip = (e: Event): unknown => [e.kind, e.fn, e.args, e.this, e.value, e.error];
    for (let i = 0; i < on.evs.length; i++) expect(strip(on.evs[i])).toEqual(strip(off.evs[i]));
    // References were written.
    expect(metadata(on.dir).raw_bytes).toBeLessThan(metadata(off.dir).raw_bytes);
  });

  it('the redacted parts are the ones the default filter names', () => {
    const handle = on.evs.filter((e) => e.kind === 'call' && e.fn === 'handle');
    expect(handle).toHaveLength(20);
    const last = handle[19].args![0] as any;
    expect(last.props.rawHeaders[1]).toEqual({ $: 'redacted', type: 'string' });
    expect(last.props.rawHeaders[3]).toBe('application/json');
    expect(last.props.url).toBe('/x?access_token=[redacted]&page=2');
    const env = on.evs.filter((e) => e.kind === 'call' && e.fn === 'configure').map((e) => (e.args![0] as any).props);
    expect(env).toHaveLength(20);
    for (const p of env) expect(p.DATABASE_URL).toEqual({ $: 'redacted', type: 'string' });
  });
});
