import { CniCode, CniError } from '../errors.js';
import type { Attachment, Dns, IpConfig, Result } from '../spec/types.js';
import { formatIp, type Ip, ipEquals, parseIp, tryParseIp } from '../../net/ip.js';
import { nextFree, rangeFor } from './allocator.js';
import { DEFAULT_DATA_DIR, type HostLocalIpamConf, rangeSets, rangeSetText } from './config.js';
import { DiskStore } from './store.js';

/**
 * host-local IPAM: the pure allocator over the disk store, under the store's lock. Used by the host-local
 * plugin and, in-process, by bridge when its delegate would be our own host-local (same files, same lock,
 * same result, one process start less).
 */
export interface HostLocalRequest {
  network: string;
  cniVersion: string;
  ipam: HostLocalIpamConf;
  containerId: string;
  ifname: string;
  /** addresses asked for (CNI_ARGS IP, args.cni.ips, the ips capability): one per range set at most */
  requested?: string[];
  /** the result's dns (from ipam.resolvConf) */
  dns?: Dns;
}

function storeFor(network: string, ipam: HostLocalIpamConf): DiskStore {
  return new DiskStore(ipam.dataDir ?? DEFAULT_DATA_DIR, network);
}

export async function hostLocalAdd(req: HostLocalRequest): Promise<Result> {
  const sets = rangeSets(req.ipam);
  const store = storeFor(req.network, req.ipam);
  const ips: IpConfig[] = await store.withLock(() => {
    const held = store.byId(req.containerId, req.ifname);
    const inUse = store.inUse();
    const out: IpConfig[] = [];
    const taken: string[] = [];
    const wanted = (req.requested ?? []).map((t) => parseIp(t));
    const used = new Set<number>();
    try {
      sets.forEach((set, idx) => {
        // ADD retried for the same attachment returns what it already holds in this set.
        const existing = held.map((a) => tryParseIp(a.ip)).find((ip) => ip && rangeFor(set, ip));
        let pick = existing ? { ip: existing, range: rangeFor(set, existing)! } : undefined;
        const w = wanted.findIndex((ip, i) => !used.has(i) && rangeFor(set, ip));
        if (w >= 0) used.add(w);
        if (!pick && w >= 0) {
          const ip = wanted[w] as Ip;
          const text = formatIp(ip);
          const range = rangeFor(set, ip) as NonNullable<ReturnType<typeof rangeFor>>;
          if (ipEquals(ip, range.gateway) || inUse.has(text) || !store.reserve(text, req.containerId, req.ifname, idx))
            throw new CniError(
              CniCode.PluginSpecific,
              `requested IP address ${text} is not available in range set ${rangeSetText(set)}`,
            );
          inUse.add(text);
          taken.push(text);
          pick = { ip, range };
        }
        if (!pick) {
          const lastText = store.lastReserved(idx);
          const last = lastText ? tryParseIp(lastText) : undefined;
          pick = nextFree(set, inUse, last);
          if (!pick) {
            throw new CniError(CniCode.PluginSpecific, `no IP addresses available in range set: ${rangeSetText(set)}`);
          }
          const text = formatIp(pick.ip);
          if (!store.reserve(text, req.containerId, req.ifname, idx)) {
            throw new CniError(CniCode.TryAgainLater, `address ${text} was taken concurrently`);
          }
          inUse.add(text);
          taken.push(text);
        }
        out.push({
          address: `${formatIp(pick.ip)}/${pick.range.subnet.prefix}`,
          gateway: formatIp(pick.range.gateway),
        });
      });
      const unplaced = wanted.filter((_ip, i) => !used.has(i)).map(formatIp);
      if (unplaced.length)
        throw new CniError(
          CniCode.PluginSpecific,
          `failed to allocate all requested IPs: ${unplaced.join(', ')} (in no range set, or two for one set)`,
        );
    } catch (e) {
      for (const t of taken) store.release(t); // all range sets or none
      throw e;
    }
    return out;
  });
  const result: Result = { cniVersion: req.cniVersion, ips };
  if (req.ipam.routes?.length) result.routes = req.ipam.routes;
  if (req.dns && Object.keys(req.dns).length) result.dns = req.dns;
  return result;
}

export async function hostLocalDel(req: HostLocalRequest): Promise<string[]> {
  rangeSets(req.ipam); // a DEL with a broken config is still a config error
  const store = storeFor(req.network, req.ipam);
  return store.withLock(() => store.releaseById(req.containerId, req.ifname));
}

/** CHECK: the attachment must still hold an address in every range set. */
export async function hostLocalCheck(req: HostLocalRequest): Promise<void> {
  const sets = rangeSets(req.ipam);
  const store = storeFor(req.network, req.ipam);
  const held = store.byId(req.containerId, req.ifname).map((a) => parseIp(a.ip));
  sets.forEach((set) => {
    if (!held.some((ip) => rangeFor(set, ip))) {
      throw new CniError(
        CniCode.PluginSpecific,
        `host-local: ${req.containerId}/${req.ifname} holds no address in ${rangeSetText(set)}`,
      );
    }
  });
}

/** GC: release every allocation whose attachment is not in `valid`. Returns the addresses freed. */
export async function hostLocalGc(network: string, ipam: HostLocalIpamConf, valid: Attachment[]): Promise<string[]> {
  const keep = new Set(valid.map((a) => `${a.containerID}\n${a.ifname}`));
  const store = storeFor(network, ipam);
  return store.withLock(() => {
    const freed: string[] = [];
    for (const a of store.list()) {
      if (!keep.has(`${a.containerId}\n${a.ifname}`)) {
        store.release(a.ip);
        freed.push(a.ip);
      }
    }
    return freed;
  });
}

/** STATUS: host-local can serve ADDs when its ranges parse and its data directory can be written. */
export async function hostLocalStatus(network: string, ipam: HostLocalIpamConf): Promise<void> {
  rangeSets(ipam);
  const store = storeFor(network, ipam);
  try {
    await store.withLock(() => undefined);
  } catch (err) {
    throw new CniError(CniCode.PluginNotAvailable, `host-local: data directory not usable: ${(err as Error).message}`);
  }
}
