import { openSync, readSync, closeSync, realpathSync } from 'node:fs';
import { dirname } from 'node:path';
import { CniCode, CniError } from '../errors.js';
import {
  callerExec,
  delegateAdd,
  delegateCheck,
  delegateDel,
  delegateGc,
  delegateStatus,
  findInPath,
} from '../invoke.js';
import type { CniArgs } from '../skel.js';
import type { Attachment, Result } from '../spec/types.js';
import { hostLocalIpamSchema } from './config.js';
import { hostLocalInputs } from './request.js';
import { hostLocalAdd, hostLocalCheck, hostLocalDel, hostLocalGc, hostLocalStatus } from './hostlocal.js';

/**
 * IPAM for main plugins (bridge, vxlan): delegate to the `ipam.type` plugin on CNI_PATH, exactly as the
 * reference does, except when that plugin is our own host-local sitting next to this executable: then the
 * same code runs in this process (same files, same flock, same result) and one process start is saved.
 * SKIFF_CNI_IPAM_EXEC=1 forces the delegate exec (used by the benchmark to measure both).
 */
export interface IpamConf {
  type: string;
  [k: string]: unknown;
}

/** Our bundles start with the relay prelude (scripts/build.mjs, src/cni/shim.sh); the reference is ELF. */
const SHIM_MARKER = '#!/bin/sh\n":" //; # skiff-cni-shim';

function isOurHostLocal(type: string, args: CniArgs): boolean {
  const env = args.env ?? process.env;
  if (type !== 'host-local' || env.SKIFF_CNI_IPAM_EXEC === '1') return false;
  const self = args.self;
  if (!self) return false;
  try {
    const found = findInPath(type, args.path);
    if (realpathSync(dirname(found)) !== realpathSync(dirname(self))) return false;
    const fd = openSync(found, 'r');
    const buf = Buffer.alloc(SHIM_MARKER.length);
    try {
      readSync(fd, buf, 0, buf.length, 0);
    } finally {
      closeSync(fd);
    }
    return buf.toString('latin1') === SHIM_MARKER;
  } catch {
    return false;
  }
}

function ctx(args: CniArgs) {
  return { containerId: args.containerId, netns: args.netns, ifname: args.ifname, args: args.args, path: args.path };
}

function parseHostLocal(ipam: IpamConf) {
  const r = hostLocalIpamSchema.safeParse(ipam);
  if (!r.success)
    throw new CniError(CniCode.InvalidNetworkConfig, `invalid ipam config: ${r.error.issues[0]?.message}`);
  return r.data;
}

/** The network config a delegate receives: the plugin's own stdin, as the reference does. */
function delegateConf(args: CniArgs): Record<string, unknown> {
  return JSON.parse(args.stdin) as Record<string, unknown>;
}

export async function ipamAdd(args: CniArgs, network: string, cniVersion: string, ipam: IpamConf): Promise<Result> {
  if (isOurHostLocal(ipam.type, args)) {
    const inputs = hostLocalInputs(parseHostLocal(ipam), args.stdin, args.args);
    return hostLocalAdd({ network, cniVersion, ...inputs, containerId: args.containerId, ifname: args.ifname });
  }
  return delegateAdd(ipam.type, delegateConf(args), ctx(args), callerExec(args.env));
}

/** Releases the attachment's addresses; returns them when known (in-process), for exact cleanup. */
export async function ipamDel(
  args: CniArgs,
  network: string,
  cniVersion: string,
  ipam: IpamConf,
): Promise<string[] | undefined> {
  if (isOurHostLocal(ipam.type, args)) {
    return hostLocalDel({
      network,
      cniVersion,
      ipam: parseHostLocal(ipam),
      containerId: args.containerId,
      ifname: args.ifname,
    });
  }
  await delegateDel(ipam.type, delegateConf(args), ctx(args), callerExec(args.env));
  return undefined;
}

export async function ipamCheck(args: CniArgs, network: string, cniVersion: string, ipam: IpamConf): Promise<void> {
  if (isOurHostLocal(ipam.type, args)) {
    return hostLocalCheck({
      network,
      cniVersion,
      ipam: parseHostLocal(ipam),
      containerId: args.containerId,
      ifname: args.ifname,
    });
  }
  await delegateCheck(ipam.type, delegateConf(args), ctx(args), callerExec(args.env));
}

export async function ipamGc(args: CniArgs, network: string, ipam: IpamConf, valid: Attachment[]): Promise<void> {
  if (isOurHostLocal(ipam.type, args)) {
    await hostLocalGc(network, parseHostLocal(ipam), valid);
    return;
  }
  await delegateGc(ipam.type, delegateConf(args), { path: args.path }, callerExec(args.env));
}

/** STATUS is the IPAM plugin's to answer (spec 1.1: a main plugin delegates it). */
export async function ipamStatus(args: CniArgs, network: string, ipam: IpamConf): Promise<void> {
  if (isOurHostLocal(ipam.type, args)) return hostLocalStatus(network, parseHostLocal(ipam));
  await delegateStatus(ipam.type, delegateConf(args), { path: args.path }, callerExec(args.env));
}
