// One temporary root per test run: every temp dir the tests, the recorded
// children and the recorder create (os.tmpdir() follows TMPDIR) lands under
// it, and it is removed when the run ends, so a run leaves nothing in /tmp.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

// The fixture packages some tests need under a node_modules path (scope: a
// package boundary; jest: an ES-module-only dependency; an unsupported
// vitest) are kept in `test/fixtures/<fixture>/packages/` and copied to
// `node_modules/` here, so no node_modules folder is committed. A copy, not a
// symlink: Node resolves symlinks to their target, which would leave the
// node_modules path.
function installFixturePackages(): void {
  const fixtures = path.join(__dirname, 'fixtures');
  for (const name of fs.readdirSync(fixtures)) {
    const packages = path.join(fixtures, name, 'packages');
    if (!fs.existsSync(packages)) continue;
    const target = path.join(fixtures, name, 'node_modules');
    fs.rmSync(target, { recursive: true, force: true });
    fs.cpSync(packages, target, { recursive: true });
  }
}

export default function setup(): () => void {
  installFixturePackages();
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'noderec-tests-'));
  process.env.TMPDIR = root;
  return () => {
    if (process.env.NODEREC_KEEP_TEST_TMP) return;
    fs.rmSync(root, { recursive: true, force: true });
  };
}
