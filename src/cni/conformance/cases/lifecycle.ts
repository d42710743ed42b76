import { versionAtLeast } from '../../spec/version.js';
import { type ConformanceCase, ensure, pass } from '../types.js';
import { addressPresent, attachment, baseline, noLeftovers, validResult } from './common.js';

export const lifecycleCase: ConformanceCase = {
  id: 'add-check-del',
  title: 'chain ADD (result valid for its version, address on eth0), CHECK, DEL leaves nothing behind',
  async run(h) {
    const before = await baseline(h);
    let last = '';
    const rt = h.runtime((c) => {
      if (c.command === 'ADD') last = c.stdout;
    });
    const pod = await h.pod('life');
    const att = attachment(pod, 'lifecycle');
    const result = await rt.addNetworkList(h.net, att);
    validResult(JSON.parse(last), h.net.list.cniVersion);
    await addressPresent(h, pod, result);
    const v = h.net.list.cniVersion;
    if (versionAtLeast(v, '0.4.0') && !h.net.list.disableCheck) await rt.checkNetworkList(h.net, att);
    await rt.delNetworkList(h.net, att);
    noLeftovers(before, await h.snapshot(), 'DEL');
    ensure((await h.podAddrs(pod, 'eth0')) === undefined, 'eth0 still in the pod after DEL');
    return pass(result.ips?.map((i) => i.address).join(' '));
  },
};

export const checkDetectsCase: ConformanceCase = {
  id: 'check-detects',
  title: "CHECK fails once the pod's address is removed",
  async run(h) {
    if (!versionAtLeast(h.net.list.cniVersion, '0.4.0')) return { status: 'n/a', detail: 'no CHECK before 0.4.0' };
    const rt = h.runtime();
    const pod = await h.pod('chk');
    const att = attachment(pod, 'check-detects');
    const result = await rt.addNetworkList(h.net, att);
    try {
      const ip = result.ips?.[0]?.address as string;
      await h.podDelAddr(pod, 'eth0', ip);
      let failed = false;
      await rt.checkNetworkList(h.net, att).catch(() => (failed = true));
      ensure(failed, `CHECK passed although ${ip} is gone from eth0`);
    } finally {
      await rt.delNetworkList(h.net, att);
    }
    return pass();
  },
};
