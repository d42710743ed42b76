import { afterAll, beforeAll, describe } from 'vitest';
import { randomBytes } from 'node:crypto';
import { createBackend } from '../../../src/store/index.js';
import { startEtcd, type EtcdServer } from '../../../src/store/etcd-server.js';
import { Lab, requireRootAndTools } from '../../helpers/lab.js';
import { storeConformance } from './suite.js';

describe('store conformance: etcd', () => {
  const lab = new Lab();
  let etcd: EtcdServer;
  // One key prefix for the shared backend (reopened with the same prefix), fresh ones for the others.
  const prefix = `/t${randomBytes(3).toString('hex')}`;
  beforeAll(async () => {
    requireRootAndTools(['etcd']);
    etcd = await startEtcd({ dataDir: lab.tmpdir(), name: lab.prefix });
    lab.onCleanup(() => etcd.stop());
  });
  afterAll(() => lab.cleanup());
  storeConformance({
    open: (o) =>
      createBackend({
        kind: 'etcd',
        etcdEndpoints: [etcd.endpoint],
        prefix: o ? `/t${randomBytes(3).toString('hex')}` : prefix,
        ...o,
      }),
    reopen: () => createBackend({ kind: 'etcd', etcdEndpoints: [etcd.endpoint], prefix }),
  });
});
