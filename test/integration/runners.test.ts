// What the test-runner integrations rely on beyond the corpus: values made in
// another realm (jest runs test code in vm contexts) encode as those of the
// main realm.
import { describe, expect, it } from 'vitest';

import { events, fixture, onlyTrace, runNode } from '../helpers/run';

describe('values from a vm context', () => {
  it('encode exactly as the same values made in the main realm', () => {
    const r = runNode(fixture('realm', 'main.js'));
    expect(r.code).toBe(0);
    const calls = events(onlyTrace(r.outDir)).filter((e) => e.kind === 'call' && e.fn === 'take');
    expect(calls).toHaveLength(2);
    const [fromVm, fromMain] = calls.map((e) => e.args);
    expect(fromVm).toEqual(fromMain);
    expect(fromMain![0]).toEqual({ $: 'object', class: 'Object', props: { a: 1 } });
    expect(fromMain![1]).toEqual({ $: 'error', class: 'TypeError', message: 'boom' });
  });
});
