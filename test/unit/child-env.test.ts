// Which child environments get the preload back (js/child-env.ts).
import { describe, expect, it } from 'vitest';

import { withPreload } from '../../js/child-env';

const REG = '/opt/my noderec/js/dist/register.js';
const Q = '"/opt/my noderec/js/dist/register.js"';

describe('withPreload', () => {
  it('appends the quoted --require after the program\'s options', () => {
    expect(withPreload(['A=1', 'NODEREC_RUN_ID=r1', 'NODE_OPTIONS=--max-old-space-size=100'], 'r1', REG)).toEqual([
      'A=1',
      'NODEREC_RUN_ID=r1',
      `NODE_OPTIONS=--max-old-space-size=100 --require ${Q}`,
    ]);
  });

  it('adds NODE_OPTIONS when the program removed it, or left it empty', () => {
    expect(withPreload(['NODEREC_RUN_ID=r1'], 'r1', REG)).toEqual(['NODEREC_RUN_ID=r1', `NODE_OPTIONS=--require ${Q}`]);
    expect(withPreload(['NODEREC_RUN_ID=r1', 'NODE_OPTIONS='], 'r1', REG)).toEqual(['NODEREC_RUN_ID=r1', `NODE_OPTIONS=--require ${Q}`]);
  });

  it('leaves a child that has the preload, or is not of this run', () => {
    expect(withPreload(['NODEREC_RUN_ID=r1', `NODE_OPTIONS=--x --require ${Q}`], 'r1', REG)).toBeNull();
    expect(withPreload(['NODEREC_RUN_ID=r1', 'NODE_OPTIONS=-r noderec/register'], 'r1', REG)).toBeNull();
    expect(withPreload(['NODEREC_RUN_ID=r2', 'NODE_OPTIONS=--x'], 'r1', REG)).toBeNull();
    expect(withPreload(['NODE_OPTIONS=--x'], 'r1', REG)).toBeNull();
  });
});
