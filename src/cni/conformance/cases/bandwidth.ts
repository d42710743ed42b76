import { versionAtLeast } from '../../spec/version.js';
import { type ConformanceCase, ensure, notApplicable, pass } from '../types.js';
import { attachment, baseline, noLeftovers, SHAPING } from './common.js';

/**
 * A bandwidth plugin in the chain (the reference's conventions: the `bandwidth` capability in bit/s and bits)
 * shapes the pod: a tbf at the capability's ingress rate as root qdisc of the host end of the pod's veth,
 * an ifb (named like the reference's, `bwp…`) whose root tbf has the egress rate, fed by the host end's
 * ingress qdisc; CHECK passes and DEL leaves nothing.
 */
export const bandwidthCase: ConformanceCase = {
  id: 'bandwidth',
  title: 'bandwidth capability: tbf on the host veth, ifb + tbf for egress; CHECK; DEL leaves nothing',
  async run(h) {
    const bw = h.net.list.plugins.find((p) => p.type === 'bandwidth');
    if (!bw) return notApplicable('the network has no bandwidth plugin');
    if (!(bw.capabilities as Record<string, unknown> | undefined)?.bandwidth)
      return notApplicable('the bandwidth plugin does not declare the bandwidth capability');
    const before = await baseline(h);
    const rt = h.runtime();
    const att = attachment(await h.pod('bw'), 'bandwidth');
    const result = await rt.addNetworkList(h.net, att);
    try {
      const hostSide = (result.interfaces ?? []).filter((i) => !i.sandbox).map((i) => i.name);
      const ifb = hostSide.find((n) => n.startsWith('bwp'));
      ensure(ifb, `no bwp… ifb among the result's interfaces (${hostSide.join(' ')})`);
      const tbfRate = async (dev: string) =>
        (await h.nodeQdiscs(dev))?.find((q) => q.kind === 'tbf' && q.root)?.options?.rate;
      const rates = await Promise.all(hostSide.filter((n) => n !== ifb).map(tbfRate));
      ensure(rates.includes(SHAPING.ingressRate / 8), `no host interface has a tbf at ${SHAPING.ingressRate} bit/s`);
      const egress = await tbfRate(ifb);
      ensure(
        egress === SHAPING.egressRate / 8,
        `${ifb}: tbf rate ${String(egress)} B/s, expected ${SHAPING.egressRate / 8}`,
      );
      if (versionAtLeast(h.net.list.cniVersion, '0.4.0') && !h.net.list.disableCheck)
        await rt.checkNetworkList(h.net, att);
    } finally {
      await rt.delNetworkList(h.net, att);
    }
    noLeftovers(before, await h.snapshot(), 'DEL');
    return pass(`${SHAPING.ingressRate / 1e6} Mbit/s each way`);
  },
};
