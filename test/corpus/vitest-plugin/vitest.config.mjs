import { createRequire } from 'node:module';

// In a project: import noderec from 'noderec/vite-plugin';
const noderec = createRequire(import.meta.url)('../../../js/dist/runners/vite-plugin.js');

// No per-test "slow" lines: they depend on the machine's load, and the corpus
// compares plain and recorded output.
export default { plugins: [noderec()], test: { include: ['test/**/*.test.ts'], pool: 'forks', slowTestThreshold: 3_600_000 } };
