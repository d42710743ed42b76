import { versionResultSchema } from '../../spec/types.js';
import { type ConformanceCase, ensure, pass } from '../types.js';

export const versionCase: ConformanceCase = {
  id: 'version',
  title: 'VERSION prints cniVersion and supportedVersions',
  async run(h) {
    const main = h.net.list.plugins[0]?.type as string;
    const o = await h.call(main, { CNI_COMMAND: 'VERSION' }, JSON.stringify({ cniVersion: h.net.list.cniVersion }));
    ensure(o.exit === 0, `exit ${o.exit}: ${o.stdout || o.stderr}`);
    const v = versionResultSchema.safeParse(o.json);
    ensure(v.success, `not a VERSION result: ${o.stdout.slice(0, 200)}`);
    ensure(v.data.supportedVersions.length > 0, 'empty supportedVersions');
    return pass(v.data.supportedVersions.join(' '));
  },
};
