import { createRequire } from 'node:module';

// In a project: import noderec from 'noderec/vite-plugin';
const noderec = createRequire(import.meta.url)('../../../js/dist/runners/vite-plugin.js');

export default { plugins: [noderec()], test: { include: ['test/**/*.test.ts'], pool: 'forks' } };
