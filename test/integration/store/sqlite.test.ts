import { afterAll, beforeAll, describe } from 'vitest';
import { createBackend } from '../../../src/store/index.js';
import { Lab, requireRootAndTools } from '../../helpers/lab.js';
import { storeConformance } from './suite.js';

describe('store conformance: sqlite', () => {
  const lab = new Lab();
  let dir = '';
  beforeAll(() => {
    requireRootAndTools([]);
    dir = lab.tmpdir();
  });
  afterAll(() => lab.cleanup());
  storeConformance({
    // The shared backend lives in `dir`; extra ones (small watch buffers) get their own directory.
    open: (o) =>
      o ? createBackend({ kind: 'sqlite', dir: lab.tmpdir(), ...o }) : createBackend({ kind: 'sqlite', dir }),
    reopen: () => createBackend({ kind: 'sqlite', dir }),
  });
});
