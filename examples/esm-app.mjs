// An ES module that imports CommonJS: both are recorded.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { slugify } = require('./lib/slug.cjs');

export function title(words) {
  return words.map((w) => w[0].toUpperCase() + w.slice(1)).join(' ');
}

const t = title(['hello', 'recorded', 'world']);
console.log(t, '->', slugify(t));
