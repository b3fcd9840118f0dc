// The instance of noderec's ES module loader registered again after another
// loader (js/hooks/esm.ts, registerAfterOthers): see createLoad.
import { createLoad } from './esm-loader';

export const load = createLoad(true);
