import { parseResult } from '../../spec/convert.js';
import type { Result } from '../../spec/types.js';
import { type ConformanceCase, ensure, notApplicable, pass } from '../types.js';
import { attachment } from './common.js';

/** Every chained plugin gets the previous result and hands it on, extended but never losing anything. */
export const prevResultCase: ConformanceCase = {
  id: 'prevresult',
  title: 'chained plugins pass prevResult through (and may only extend it)',
  async run(h) {
    if (h.net.list.plugins.length < 2) return notApplicable('the network has no chained plugin');
    const v = h.net.list.cniVersion;
    const steps: { type: string; prev?: Result; out: Result }[] = [];
    const rt = h.runtime((c) => {
      if (c.command !== 'ADD') return;
      const conf = JSON.parse(c.stdin) as { prevResult?: unknown };
      steps.push({
        type: c.type,
        prev: conf.prevResult ? parseResult(conf.prevResult, v) : undefined,
        out: parseResult(JSON.parse(c.stdout), v),
      });
    });
    const att = attachment(await h.pod('prev'), 'prevresult');
    try {
      await rt.addNetworkList(h.net, att);
    } finally {
      await rt.delNetworkList(h.net, att);
    }
    for (const [i, s] of steps.entries()) {
      if (i === 0) continue;
      ensure(s.prev, `${s.type} got no prevResult`);
      for (const ip of s.prev.ips ?? [])
        ensure(
          s.out.ips?.some((o) => o.address === ip.address),
          `${s.type} dropped ${ip.address} from the result (it answered ${s.out.ips?.map((o) => o.address).join(' ')})`,
        );
      for (const ifc of s.prev.interfaces ?? [])
        ensure(
          s.out.interfaces?.some((o) => o.name === ifc.name),
          `${s.type} dropped interface ${ifc.name}`,
        );
    }
    return pass(steps.map((s) => s.type).join(' → '));
  },
};
