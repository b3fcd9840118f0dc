// The one run-id format: the UTC start time to the second and three random
// bytes, `20261206T105312-4f1a9c`. Ids sort by time; `noderec record` names
// its run directory with one and hands it to every process it starts
// (NODEREC_RUN_ID); a process recorded without it makes its own.
import * as fs from 'node:fs';

/** A new run id. */
export function newRunId(now: Date = new Date()): string {
  return `${now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, '')}-${randomHex3()}`;
}

/** Three random bytes in hex, from /dev/urandom where there is one: a
 * recorded process makes its run id at start, and loading `node:crypto`
 * for it cost ~5-10 ms of every start on Node 20 (issue 9, thirteenth
 * round). Not Math.random: a program run with `--random-seed` would see
 * its sequence shifted. */
function randomHex3(): string {
  const b = Buffer.alloc(3);
  try {
    const fd = fs.openSync('/dev/urandom', 'r');
    try {
      if (fs.readSync(fd, b, 0, 3, null) === 3) return b.toString('hex');
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    // no /dev/urandom (Windows)
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('node:crypto') as typeof import('node:crypto')).randomBytes(3).toString('hex');
}
