import { VALID_ATTACHMENTS_KEY } from '../../spec/types.js';
import { type ConformanceCase, type Harness, ensure, notApplicable, pass } from '../types.js';
import { snapshotDiff } from '../snapshot.js';
import { attachment, expectError } from './common.js';

const NO_11 = (h: { versions: string[] }) =>
  h.versions.includes('1.1.0')
    ? undefined
    : notApplicable(`plugin does not support 1.1.0 (lists ${h.versions.join(' ')})`);

/** Send a 1.1.0 verb without an attachment (GC, STATUS) to every plugin of the list; each must succeed. */
async function everyPlugin(h: Harness, command: 'GC' | 'STATUS', extra: Record<string, unknown> = {}): Promise<void> {
  const net = h.atVersion('1.1.0');
  for (const p of net.list.plugins) {
    const { capabilities: _c, ...plugin } = p;
    const conf = { ...plugin, cniVersion: '1.1.0', name: net.list.name, ...extra };
    const o = await h.call(p.type, { CNI_COMMAND: command }, JSON.stringify(conf));
    ensure(o.exit === 0, `${command} of ${p.type}: exit ${o.exit}: ${o.stdout || o.stderr}`);
  }
}

/** What plugin GC is responsible for: rules and IPAM files (the veth goes with its netns, the cache is the runtime's). */
const gcScope = (lines: string[]) => lines.filter((l) => /^(nft|iptables-save|ip6tables-save|ipam-file):/.test(l));

export const gcCase: ConformanceCase = {
  id: 'gc',
  title: 'GC (1.1.0) releases what stale attachments hold, keeps the valid ones; refused below 1.1.0',
  async run(h) {
    const skip = NO_11(h);
    if (skip) return skip;
    const net = h.atVersion('1.1.0');
    const rt = h.runtime();
    const keep = attachment(await h.pod('keep'), 'gc-keep');
    const stale = attachment(await h.pod('stale'), 'gc-stale');
    await rt.addNetworkList(net, keep);
    const onlyKeep = gcScope(await h.snapshot());
    await rt.addNetworkList(net, stale);
    try {
      const valid = [{ containerID: keep.containerId, ifname: 'eth0' }];
      await everyPlugin(h, 'GC', { [VALID_ATTACHMENTS_KEY]: valid });
      // everything the stale attachment added to rules and files is gone; the kept one's is intact
      const d = snapshotDiff(onlyKeep, gcScope(await h.snapshot()));
      ensure(d.added.length === 0, `GC left the stale attachment's ${d.added.slice(0, 4).join('; ')}`);
      ensure(d.removed.length === 0, `GC removed the valid attachment's ${d.removed.slice(0, 4).join('; ')}`);
      await rt.checkNetworkList(net, keep);
      const old = await h.call(
        net.list.plugins[0]?.type as string,
        { CNI_COMMAND: 'GC' },
        JSON.stringify({ ...h.mainConf({ cniVersion: '1.0.0' }), [VALID_ATTACHMENTS_KEY]: valid }),
      );
      expectError(old, 1, 'GC at 1.0.0');
    } finally {
      await rt.delNetworkList(net, stale);
      await rt.delNetworkList(net, keep);
    }
    return pass();
  },
};

export const statusCase: ConformanceCase = {
  id: 'status',
  title: 'STATUS (1.1.0) of every plugin succeeds when it can serve ADDs',
  async run(h) {
    const skip = NO_11(h);
    if (skip) return skip;
    await everyPlugin(h, 'STATUS');
    return pass();
  },
};
