import { existsSync } from 'node:fs';
import { applyNetOps, getLink } from '../../src/os/net.js';
import { nsFromPath } from '../../src/os/ns.js';
import { CniCode, CniError } from '../../src/cni/errors.js';
import type { CniArgs, CniPlugin } from '../../src/cni/skel.js';
import { type NetConf, netConfSchema, type Result } from '../../src/cni/spec/types.js';

/** loopback logic: `lo` up on ADD, down on DEL (nothing to do when the namespace is gone). */
function requireNetns(path: string): void {
  if (!existsSync(path))
    throw new CniError(CniCode.UnknownContainer, `failed to open netns "${path}": no such file or directory`);
}

async function loopbackAdd(args: CniArgs, cniVersion: string): Promise<Result> {
  requireNetns(args.netns);
  await applyNetOps(nsFromPath(args.netns), [{ op: 'link-set', name: 'lo', up: true }]);
  return {
    cniVersion,
    interfaces: [{ name: 'lo', mac: '00:00:00:00:00:00', sandbox: args.netns }],
    ips: [
      { interface: 0, address: '127.0.0.1/8' },
      { interface: 0, address: '::1/128' },
    ],
  };
}

async function loopbackDel(args: CniArgs): Promise<void> {
  if (!args.netns || !existsSync(args.netns)) return;
  await applyNetOps(nsFromPath(args.netns), [{ op: 'link-set', name: 'lo', up: false }]);
}

async function loopbackCheck(args: CniArgs): Promise<void> {
  requireNetns(args.netns);
  const lo = await getLink(nsFromPath(args.netns), 'lo');
  if (!lo?.flags?.includes('UP')) throw new CniError(CniCode.PluginSpecific, 'loopback interface is down');
}

export const loopbackPlugin: CniPlugin<NetConf> = {
  name: 'loopback',
  confSchema: netConfSchema,
  // Chained after a main plugin (bridge → portmap → loopback), the chain's result is the pod's eth0: pass it
  // through unchanged, as the reference does, or a runtime would report 127.0.0.1 as the pod IP.
  add: async (args, conf) => {
    const own = await loopbackAdd(args, conf.cniVersion);
    return conf.prevResult ? { ...conf.prevResult, cniVersion: conf.cniVersion } : own;
  },
  del: (args) => loopbackDel(args),
  check: (args) => loopbackCheck(args),
};
