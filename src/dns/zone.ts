import type { V1EndpointSlice, V1Namespace, V1Pod, V1Service } from '@kubernetes/client-node';
import { ipFamilyOf, normalizeIp } from '../net/ip.js';
import { reverseName } from '../net/reverse.js';

/**
 * The cluster zone as records, per the Kubernetes DNS-Based Service Discovery spec 1.1.0 with CoreDNS's
 * kubernetes-plugin choices where the spec leaves room:
 * - `<svc>.<ns>.svc.<zone>`: A/AAAA = the ClusterIP(s); headless = every ready endpoint address;
 *   ExternalName = CNAME to spec.externalName.
 * - `_<port>._<proto>.<svc>.<ns>.svc.<zone>` SRV for named ports (target the service name, or per endpoint
 *   `<host>.<svc>.<ns>.svc.<zone>` for headless, host = endpoint hostname or the dashed IP).
 * - `<host>.<svc>.<ns>.svc.<zone>` A/AAAA for headless endpoints (pod hostname + subdomain).
 * - `<a-b-c-d>.<ns>.pod.<zone>` A for pods that exist with that IP ("pods verified").
 * - PTR for ClusterIPs (→ service name), headless endpoints (→ endpoint name) and other pod IPs (→ pod name).
 * - `dns-version.<zone>` TXT "1.1.0"; SOA and NS at the apex.
 * A name that exists with no record of the asked type answers NODATA; a name that does not exist NXDOMAIN.
 */

interface SrvData {
  priority: number;
  weight: number;
  port: number;
  target: string;
}

export type Rr =
  | { name: string; type: 'A' | 'AAAA' | 'PTR' | 'CNAME' | 'NS'; data: string }
  | { name: string; type: 'SRV'; data: SrvData }
  | { name: string; type: 'TXT'; data: string[] }
  | {
      name: string;
      type: 'SOA';
      data: {
        mname: string;
        rname: string;
        serial: number;
        refresh: number;
        retry: number;
        expire: number;
        minimum: number;
      };
    };

export interface ZoneAnswer {
  rcode: 'NOERROR' | 'NXDOMAIN';
  answers: Rr[];
  /** the SOA for negative answers */
  authorities: Rr[];
  /** A/AAAA of SRV targets */
  additionals: Rr[];
}

export interface ClusterObjects {
  services: V1Service[];
  endpointSlices: V1EndpointSlice[];
  pods: V1Pod[];
  namespaces: V1Namespace[];
}

const SPEC_VERSION = '1.1.0';

/** "10.244.1.5" → "10-244-1-5"; "fd00::5" → "fd00--5" (as CoreDNS names endpoints without a hostname) */
export function dashedIP(ip: string): string {
  return normalizeIp(ip).replace(/[.:]/g, '-');
}

function family(ip: string): 'A' | 'AAAA' | undefined {
  const f = ipFamilyOf(ip);
  return f === undefined ? undefined : f === 4 ? 'A' : 'AAAA';
}

function isHeadless(svc: V1Service): boolean {
  return svc.spec?.clusterIP === 'None';
}

function clusterIPs(svc: V1Service): string[] {
  const ips = svc.spec?.clusterIPs?.length ? svc.spec.clusterIPs : svc.spec?.clusterIP ? [svc.spec.clusterIP] : [];
  return ips.filter((ip) => ip !== 'None' && ip !== '' && family(ip) !== undefined);
}

function lower(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

export class Zone {
  private readonly records = new Map<string, Rr[]>();
  /** every name that exists, including empty non-terminals (e.g. `svc.<zone>`, `<ns>.svc.<zone>`) */
  private readonly names = new Set<string>();

  constructor(
    readonly domain: string,
    readonly ttl: number,
    objects: ClusterObjects,
  ) {
    this.domain = lower(domain);
    this.build(objects);
  }

  private soa(): Rr {
    return {
      name: this.domain,
      type: 'SOA',
      data: {
        mname: `ns.dns.${this.domain}`,
        rname: `hostmaster.${this.domain}`,
        serial: Math.floor(Date.now() / 1000) >>> 0,
        refresh: 7200,
        retry: 1800,
        expire: 86400,
        minimum: this.ttl,
      },
    };
  }

  private add(rr: Rr): void {
    const key = lower(rr.name);
    const list = this.records.get(key) ?? [];
    if (!list.some((r) => r.type === rr.type && JSON.stringify(r.data) === JSON.stringify(rr.data))) list.push(rr);
    this.records.set(key, list);
    this.exists(key);
  }

  /** mark a name and its ancestors inside the zone as existing */
  private exists(name: string): void {
    const labels = name.split('.');
    for (let i = 0; i < labels.length; i++) {
      const n = labels.slice(i).join('.');
      this.names.add(n);
      if (n === this.domain) break;
    }
  }

  private addAddress(name: string, ip: string): void {
    const t = family(ip);
    if (t) this.add({ name, type: t, data: normalizeIp(ip) });
  }

  private addPtr(ip: string, target: string): void {
    if (family(ip)) this.ptrs.push({ name: reverseName(ip), type: 'PTR', data: target });
  }

  private readonly ptrs: Rr[] = [];

  private build(o: ClusterObjects): void {
    const z = this.domain;
    this.exists(z);
    this.add(this.soa());
    this.add({ name: z, type: 'NS', data: `ns.dns.${z}` });
    this.add({ name: `dns-version.${z}`, type: 'TXT', data: [SPEC_VERSION] });
    this.exists(`svc.${z}`);
    this.exists(`pod.${z}`);
    for (const ns of o.namespaces) {
      const name = ns.metadata?.name;
      if (name) {
        this.exists(`${name}.svc.${z}`);
        this.exists(`${name}.pod.${z}`);
      }
    }
    const slicesBySvc = new Map<string, V1EndpointSlice[]>();
    for (const s of o.endpointSlices) {
      const svc = s.metadata?.labels?.['kubernetes.io/service-name'];
      if (!svc) continue;
      const k = `${s.metadata?.namespace ?? ''}/${svc}`;
      slicesBySvc.set(k, [...(slicesBySvc.get(k) ?? []), s]);
    }
    const endpointIPs = new Set<string>();
    for (const svc of o.services) {
      const ns = svc.metadata?.namespace ?? 'default';
      const name = svc.metadata?.name;
      if (!name) continue;
      const fqdn = `${name}.${ns}.svc.${z}`;
      this.exists(fqdn);
      const ports = svc.spec?.ports ?? [];
      if (svc.spec?.type === 'ExternalName') {
        if (svc.spec.externalName) this.add({ name: fqdn, type: 'CNAME', data: lower(svc.spec.externalName) });
        continue;
      }
      if (!isHeadless(svc)) {
        for (const ip of clusterIPs(svc)) {
          this.addAddress(fqdn, ip);
          this.addPtr(ip, fqdn);
        }
        for (const p of ports) {
          if (!p.name) continue;
          const srv = { priority: 0, weight: 100, port: p.port, target: fqdn };
          this.add({ name: `_${p.name}._${(p.protocol ?? 'TCP').toLowerCase()}.${fqdn}`, type: 'SRV', data: srv });
          this.add({ name: fqdn, type: 'SRV', data: srv });
        }
        continue;
      }
      // headless: ready endpoints (all of them with publishNotReadyAddresses, whose slices mark them ready)
      const slices = slicesBySvc.get(`${ns}/${name}`) ?? [];
      const srvs: { name: string; port: number; target: string }[] = [];
      for (const slice of slices) {
        for (const ep of slice.endpoints ?? []) {
          if (ep.conditions?.ready === false && svc.spec?.publishNotReadyAddresses !== true) continue;
          for (const ip of ep.addresses ?? []) {
            if (!family(ip)) continue;
            const host = ep.hostname ? lower(ep.hostname) : dashedIP(normalizeIp(ip));
            const epName = `${host}.${fqdn}`;
            this.addAddress(fqdn, ip);
            this.addAddress(epName, ip);
            this.addPtr(ip, epName);
            endpointIPs.add(normalizeIp(ip));
            for (const p of slice.ports ?? []) {
              if (!p.name || p.port === undefined) continue;
              srvs.push({
                name: `_${p.name}._${(p.protocol ?? 'TCP').toLowerCase()}.${fqdn}`,
                port: p.port,
                target: epName,
              });
            }
          }
        }
      }
      // CoreDNS spreads the weight: each of N records for one name weighs 100/N
      const counts = new Map<string, number>();
      for (const s of srvs) counts.set(s.name, (counts.get(s.name) ?? 0) + 1);
      for (const s of srvs) {
        const data = {
          priority: 0,
          weight: Math.floor(100 / (counts.get(s.name) ?? 1)),
          port: s.port,
          target: s.target,
        };
        this.add({ name: s.name, type: 'SRV', data });
        this.add({ name: fqdn, type: 'SRV', data: { ...data, weight: Math.floor(100 / srvs.length) } });
      }
    }
    for (const pod of o.pods) {
      const ns = pod.metadata?.namespace ?? 'default';
      const podName = pod.metadata?.name;
      if (!podName || pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') continue;
      const ips = pod.status?.podIPs?.map((p) => p.ip) ?? (pod.status?.podIP ? [pod.status.podIP] : []);
      for (const ip of ips) {
        if (!family(ip)) continue;
        const dashed = dashedIP(normalizeIp(ip));
        const name = `${dashed}.${ns}.pod.${z}`;
        this.addAddress(name, ip);
        if (!endpointIPs.has(normalizeIp(ip))) this.addPtr(ip, name);
      }
    }
    for (const p of this.ptrs) {
      const key = lower(p.name);
      const list = this.records.get(key) ?? [];
      if (!list.some((r) => r.data === p.data)) list.push(p);
      this.records.set(key, list);
    }
  }

  /** Whether the zone is authoritative for `name` (the cluster zone or a reverse zone it holds data for). */
  covers(name: string): boolean {
    const n = lower(name);
    return n === this.domain || n.endsWith(`.${this.domain}`);
  }

  /** Whether `name` is a reverse name this zone has a PTR for. */
  hasPtr(name: string): boolean {
    return this.records.has(lower(name));
  }

  lookup(qname: string, qtype: string): ZoneAnswer {
    const name = lower(qname);
    const out: ZoneAnswer = { rcode: 'NOERROR', answers: [], authorities: [], additionals: [] };
    const rrs = this.records.get(name) ?? [];
    const cname = rrs.find((r) => r.type === 'CNAME');
    const match = (t: string): Rr[] => rrs.filter((r) => r.type === t || (t === 'ANY' && r.type !== 'SOA'));
    if (cname && qtype !== 'CNAME') {
      out.answers.push(this.named(cname, qname));
      // chase a target inside the zone once, as CoreDNS does
      const target = cname.data as string;
      if (this.covers(target)) out.answers.push(...(this.records.get(target) ?? []).filter((r) => r.type === qtype));
      return out;
    }
    out.answers = match(qtype).map((r) => this.named(r, qname));
    if (qtype === 'SRV') {
      for (const a of out.answers) {
        const target = (a.data as SrvData).target;
        out.additionals.push(...(this.records.get(target) ?? []).filter((r) => r.type === 'A' || r.type === 'AAAA'));
      }
    }
    if (out.answers.length > 0) return out;
    if (!this.names.has(name) && !this.records.has(name)) out.rcode = 'NXDOMAIN';
    if (this.covers(name)) out.authorities.push(this.soa());
    return out;
  }

  /** answer with the question's spelling of the name (resolvers compare case-insensitively, but echo it) */
  private named(r: Rr, qname: string): Rr {
    return { ...r, name: qname.replace(/\.$/, '') } as Rr;
  }
}
