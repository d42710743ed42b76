import { beforeAll, describe } from 'vitest';
import { createBackend } from '../../../src/store/index.js';
import { requireRootAndTools } from '../../helpers/lab.js';
import { storeConformance } from './suite.js';

describe('store conformance: memory', () => {
  beforeAll(() => requireRootAndTools([]));
  storeConformance({ open: (o) => createBackend({ kind: 'memory', ...o }) });
});
