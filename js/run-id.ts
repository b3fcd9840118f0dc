// The one run-id format: the UTC start time to the second and three random
// bytes, `20261206T105312-4f1a9c`. Ids sort by time; `noderec record` names
// its run directory with one and hands it to every process it starts
// (NODEREC_RUN_ID); a process recorded without it makes its own.
import * as crypto from 'node:crypto';

/** A new run id. */
export function newRunId(now: Date = new Date()): string {
  return `${now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, '')}-${crypto.randomBytes(3).toString('hex')}`;
}
