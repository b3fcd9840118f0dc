// One definition of the wire: the event kinds, value tags and head bits the
// TypeScript probes and encoder write are the numbers the Rust core reads
// (crates/noderec_core/src/trace/format.rs and value.rs, through the addon's
// wireConstants()).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(__dirname, '..', '..');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { native } = require('../../js/dist/native.js') as typeof import('../../js/native');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const probes = require('../../js/dist/runtime/probes.js') as Record<string, unknown>;

/** `const <prefix>NAME = <number>;` at the top level of a source file (module-private constants). */
function constants(file: string, prefix: string): Record<string, number> {
  const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
  const out: Record<string, number> = {};
  for (const m of text.matchAll(new RegExp(`^(?:export )?const ${prefix}([A-Z_]+) = (0x[0-9a-fA-F]+|\\d+);`, 'gm'))) out[m[1]] = Number(m[2]);
  return out;
}

describe('the wire constants are the same in Rust and TypeScript', () => {
  const wire = native().wireConstants();

  it('event kinds (js/runtime/probes.ts exports)', () => {
    expect(Object.keys(wire.kinds).length).toBeGreaterThanOrEqual(8);
    for (const [name, value] of Object.entries(wire.kinds)) expect([name, probes[name.toUpperCase()]]).toEqual([name, value]);
  });

  it('value tags (js/runtime/value-encoder.ts T_*)', () => {
    expect(constants('js/runtime/value-encoder.ts', 'T_')).toEqual(wire.tags);
  });

  it('the head: HAS_VALUES bit and payload shift (js/runtime/probes.ts)', () => {
    expect(constants('js/runtime/probes.ts', '')).toMatchObject({ HAS: wire.hasValues });
    // Every head the probes build (`(id << 5) | CALL`) or read (`head >>> 5`)
    // shifts the payload by the core's payload shift.
    const text = fs.readFileSync(path.join(ROOT, 'js', 'runtime', 'probes.ts'), 'utf8');
    const built = [...text.matchAll(/<< (\d+)\) \| (?:CALL|RETURN|THROW|AWAIT|RESUME|YIELD|CATCH|OUTPUT|kind|\d)\b/g)];
    const read = [...text.matchAll(/head >>> (\d+)/g)];
    expect(built.length).toBeGreaterThanOrEqual(5);
    expect(read.length).toBeGreaterThanOrEqual(1);
    expect(new Set([...built, ...read].map((m) => Number(m[1])))).toEqual(new Set([wire.payloadShift]));
  });
});
