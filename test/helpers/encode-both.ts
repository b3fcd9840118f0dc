// Encodes a value as the recorder does (references and patches allowed)
// and again in full, after what the arena holds, and decodes both: the
// differential of references (issue 9) in unit tests.
import { expect } from 'vitest';
import { arena, writeValue, writeValueFull, writeValueShallow } from '../../js/runtime/value-encoder';
import { Reader } from './value-reader';

/** Both decodings of `v` (`shallow`: as a receiver), whether the first
 * encoding was shorter, both lengths and where the first one starts. */
export function encodeBoth(v: unknown, shallow = false): { ref: any; full: any; shorter: boolean; refLen: number; fullLen: number; start: number } {
  const start = arena.pos;
  if (shallow) writeValueShallow(v);
  else writeValue(v);
  const mid = arena.pos;
  writeValueFull(v, shallow);
  const r1 = new Reader(arena.buf, mid);
  r1.pos = start;
  const ref = r1.value();
  expect(r1.pos).toBe(mid);
  const r2 = new Reader(arena.buf, arena.pos);
  r2.pos = mid;
  const full = r2.value();
  return { ref, full, shorter: mid - start < arena.pos - mid, refLen: mid - start, fullLen: arena.pos - mid, start };
}
