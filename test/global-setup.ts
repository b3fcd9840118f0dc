// One temporary root per test run: every temp dir the tests, the recorded
// children and the recorder create (os.tmpdir() follows TMPDIR) lands under
// it, and it is removed when the run ends, so a run leaves nothing in /tmp.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export default function setup(): () => void {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'noderec-tests-'));
  process.env.TMPDIR = root;
  return () => {
    if (process.env.NODEREC_KEEP_TEST_TMP) return;
    fs.rmSync(root, { recursive: true, force: true });
  };
}
