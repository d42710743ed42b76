import { delNetns } from '../../../os/netns.js';
import { type ConformanceCase, ensure, pass } from '../types.js';
import { attachment, baseline, noLeftovers } from './common.js';

export const delNeverAddedCase: ConformanceCase = {
  id: 'del-never-added',
  title: 'DEL of an attachment that never existed succeeds (twice)',
  async run(h) {
    for (let i = 0; i < 2; i++) {
      const o = await h.call(
        h.net.list.plugins[0]?.type as string,
        { CNI_COMMAND: 'DEL', CNI_CONTAINERID: 'never-added', CNI_IFNAME: 'eth0' },
        JSON.stringify(h.mainConf()),
      );
      ensure(o.exit === 0, `DEL #${i + 1}: exit ${o.exit}: ${o.stdout || o.stderr}`);
      ensure(o.stdout.trim() === '', `DEL #${i + 1} printed ${o.stdout.slice(0, 100)}`);
    }
    return pass();
  },
};

export const delTwiceCase: ConformanceCase = {
  id: 'del-twice',
  title: 'DEL twice after ADD succeeds',
  async run(h) {
    const rt = h.runtime();
    const att = attachment(await h.pod('twice'), 'del-twice');
    await rt.addNetworkList(h.net, att);
    await rt.delNetworkList(h.net, att);
    await rt.delNetworkList(h.net, att);
    return pass();
  },
};

export const delNetnsGoneCase: ConformanceCase = {
  id: 'del-netns-gone',
  title: 'DEL after the netns is gone succeeds and releases everything',
  async run(h) {
    const before = await baseline(h);
    const rt = h.runtime();
    const pod = await h.pod('gone');
    const att = attachment(pod, 'netns-gone');
    await rt.addNetworkList(h.net, att);
    await delNetns(h.podName(pod));
    await rt.delNetworkList(h.net, { ...att, netns: '' });
    noLeftovers(before, await h.snapshot(), 'DEL without netns');
    return pass();
  },
};
