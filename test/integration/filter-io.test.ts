// The filter chain's [io] table reaches IO capture; the environment beats it.
import { describe, expect, it } from 'vitest';

import { events, fixture, onlyTrace, runNode } from '../helpers/run';

const outputs = (dir: string) => events(dir).filter((e) => e.kind === 'output');

describe('[io] in filter files', () => {
  it('capture = false records no output; NODEREC_CAPTURE_IO beats it', () => {
    const quiet = { NODEREC_TRACE_FILTER: fixture('filter-io', 'quiet.toml') };
    const r = runNode(fixture('filter-io', 'main.js'), { env: quiet });
    expect(r.stdout).toBe('hello io\n');
    expect(r.stderr).toBe('warned\n');
    const dir = onlyTrace(r.outDir);
    expect(events(dir).some((e) => e.kind === 'call' && e.fn === 'greet')).toBe(true);
    expect(outputs(dir)).toHaveLength(0);
    const forced = runNode(fixture('filter-io', 'main.js'), { env: { ...quiet, NODEREC_CAPTURE_IO: 'proxies' } });
    expect(outputs(onlyTrace(forced.outDir)).length).toBeGreaterThanOrEqual(2);
  });

  it('streams limits what is captured', () => {
    const r = runNode(fixture('filter-io', 'main.js'), { env: { NODEREC_TRACE_FILTER: fixture('filter-io', 'stdout-only.toml') } });
    const outs = outputs(onlyTrace(r.outDir));
    expect(outs.length).toBeGreaterThan(0);
    expect(outs.every((e) => e.stream === 'stdout')).toBe(true);
    expect(outs.find((e) => e.stream === 'stdout')?.fn).toBe('greet');
  });
});
