import { errorMessage } from '../../../util/errors.js';
import { SUPPORTED_VERSIONS, versionAtLeast } from '../../spec/version.js';
import { type ConformanceCase, CaseFailure, pass } from '../types.js';
import { attachment, expectError, fullEnv, validResult } from './common.js';

/**
 * Version negotiation: for every version from 0.3.0 to 1.1.0 the plugin lists in VERSION, the whole chain
 * ADDs with the result converted to that version and valid for its schema, CHECKs (0.4.0+) and DELs; a
 * version it does not list must be refused with code 1.
 */
export const versionsCase: ConformanceCase = {
  id: 'versions',
  title: 'cniVersion 0.3.0 … 1.1.0: results converted and valid, unlisted versions refused (code 1)',
  async run(h) {
    const notes: string[] = [];
    for (const v of SUPPORTED_VERSIONS) {
      if (!h.versions.includes(v)) {
        const pod = await h.pod('refuse');
        const o = await h.call(
          h.net.list.plugins[0]?.type as string,
          { ...fullEnv(pod, `refuse-${v.replace(/\./g, '')}`), CNI_COMMAND: 'ADD' },
          JSON.stringify(h.mainConf({ cniVersion: v })),
        );
        expectError(o, 1, `ADD at unlisted ${v}`);
        notes.push(`${v} refused`);
        continue;
      }
      const net = h.atVersion(v);
      let last = '';
      const rt = h.runtime((c) => {
        if (c.command === 'ADD') last = c.stdout;
      });
      const att = attachment(await h.pod(`v${v.replace(/\./g, '')}`), `version-${v.replace(/\./g, '')}`);
      try {
        await rt.addNetworkList(net, att);
        validResult(JSON.parse(last), v);
        if (versionAtLeast(v, '0.4.0')) await rt.checkNetworkList(net, att);
        await rt.delNetworkList(net, att);
      } catch (err) {
        await rt.delNetworkList(net, att).catch(() => undefined);
        throw new CaseFailure(`${v}: ${errorMessage(err)}`);
      }
      notes.push(`${v} ok`);
    }
    return pass(notes.join(', '));
  },
};
