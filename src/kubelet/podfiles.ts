import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Pod } from './types.js';

/**
 * The files the kubelet manages for every pod, as Kubernetes' kubelet writes them: /etc/hosts (localhost,
 * the pod's own name and hostAliases), /etc/hostname and /etc/resolv.conf per dnsPolicy. They live in the pod
 * directory and are bind-mounted into each container's root view, never into the host's /etc.
 */
export interface DnsSettings {
  /** --cluster-dns: the cluster DNS Service IPs */
  clusterDNS: string[];
  /** --cluster-domain */
  clusterDomain: string;
  /** --resolv-conf: the node's resolver configuration for dnsPolicy Default */
  resolvConf: string;
}

export interface ResolvConf {
  nameservers: string[];
  searches: string[];
  options: { name: string; value?: string }[];
}

const MAX_NAMESERVERS = 3;
const MAX_SEARCHES = 32;

export function parseResolvConf(text: string): ResolvConf {
  const out: ResolvConf = { nameservers: [], searches: [], options: [] };
  for (const raw of text.split('\n')) {
    const [key, ...rest] = raw
      .replace(/[#;].*$/, '')
      .trim()
      .split(/\s+/);
    if (key === 'nameserver' && rest[0]) out.nameservers.push(rest[0]);
    else if (key === 'search' || key === 'domain') out.searches = rest.filter(Boolean);
    else if (key === 'options')
      for (const o of rest) {
        const [name, value] = o.split(':', 2) as [string, string | undefined];
        out.options.push(value === undefined ? { name } : { name, value });
      }
  }
  return out;
}

function mergeOptions(base: ResolvConf['options'], extra: ResolvConf['options']): ResolvConf['options'] {
  const byName = new Map(base.map((o) => [o.name, o]));
  for (const o of extra) byName.set(o.name, o);
  return [...byName.values()];
}

const unique = (xs: string[]): string[] => [...new Set(xs)];

interface DnsConfig {
  nameservers?: string[];
  searches?: string[];
  options?: { name: string; value?: string }[];
}

/** The pod's resolver configuration per spec.dnsPolicy and spec.dnsConfig (Kubernetes' rules). */
export function podResolvConf(pod: Pod, dns: DnsSettings, nodeResolv: ResolvConf): ResolvConf {
  const spec = pod.spec as Pod['spec'] & { dnsPolicy?: string; dnsConfig?: DnsConfig; hostNetwork?: boolean };
  const policy = spec.dnsPolicy ?? 'ClusterFirst';
  let base: ResolvConf;
  const clusterFirst =
    dns.clusterDNS.length > 0 &&
    ((policy === 'ClusterFirst' && !spec.hostNetwork) || policy === 'ClusterFirstWithHostNet');
  if (policy === 'None') base = { nameservers: [], searches: [], options: [] };
  else if (clusterFirst) {
    const d = dns.clusterDomain;
    base = {
      nameservers: [...dns.clusterDNS],
      searches: [`${pod.metadata.namespace}.svc.${d}`, `svc.${d}`, d, ...nodeResolv.searches],
      options: [{ name: 'ndots', value: '5' }],
    };
  } else base = { ...nodeResolv, options: [...nodeResolv.options] }; // Default, or ClusterFirst without cluster DNS
  const c = spec.dnsConfig ?? {};
  return {
    nameservers: unique([...base.nameservers, ...(c.nameservers ?? [])]).slice(0, MAX_NAMESERVERS),
    searches: unique([...base.searches, ...(c.searches ?? [])]).slice(0, MAX_SEARCHES),
    options: mergeOptions(base.options, c.options ?? []),
  };
}

export function renderResolvConf(r: ResolvConf): string {
  const lines = r.nameservers.map((n) => `nameserver ${n}`);
  if (r.searches.length) lines.push(`search ${r.searches.join(' ')}`);
  if (r.options.length)
    lines.push(`options ${r.options.map((o) => (o.value ? `${o.name}:${o.value}` : o.name)).join(' ')}`);
  return `${lines.join('\n')}\n`;
}

interface HostAlias {
  ip: string;
  hostnames?: string[];
}

/** /etc/hosts as the kubelet writes it (managed header, loopback, the pod's FQDN when it has a subdomain). */
export function renderHosts(pod: Pod, podIPs: string[], hostname: string, clusterDomain: string): string {
  const lines = [
    '# Kubernetes-managed hosts file.',
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet',
    'fe00::0\tip6-mcastprefix',
    'fe00::1\tip6-allnodes',
    'fe00::2\tip6-allrouters',
  ];
  const sub = pod.spec.subdomain;
  const names = sub ? `${hostname}.${sub}.${pod.metadata.namespace}.svc.${clusterDomain}\t${hostname}` : hostname;
  for (const ip of podIPs) lines.push(`${ip}\t${names}`);
  const aliases = ((pod.spec as { hostAliases?: HostAlias[] }).hostAliases ?? []).filter((a) => a.hostnames?.length);
  if (aliases.length) {
    lines.push('', '# Entries added by HostAliases.');
    for (const a of aliases) lines.push(`${a.ip}\t${(a.hostnames ?? []).join('\t')}`);
  }
  return `${lines.join('\n')}\n`;
}

export interface PodFiles {
  hosts: string;
  hostname: string;
  resolvConf: string;
}

function writeAtomic(path: string, text: string): void {
  writeFileSync(`${path}.tmp`, text, { mode: 0o644 });
  renameSync(`${path}.tmp`, path);
}

/** Write (or rewrite) the pod's managed files under `podDir/etc`; returns their paths. */
export function writePodFiles(
  podDir: string,
  pod: Pod,
  podIPs: string[],
  hostname: string,
  dns: DnsSettings,
): PodFiles {
  const dir = join(podDir, 'etc');
  mkdirSync(dir, { recursive: true });
  const nodeResolv = parseResolvConf(existsSync(dns.resolvConf) ? readFileSync(dns.resolvConf, 'utf8') : '');
  const files = { hosts: join(dir, 'hosts'), hostname: join(dir, 'hostname'), resolvConf: join(dir, 'resolv.conf') };
  writeAtomic(files.hosts, renderHosts(pod, podIPs, hostname, dns.clusterDomain));
  writeAtomic(files.hostname, `${hostname}\n`);
  writeAtomic(files.resolvConf, renderResolvConf(podResolvConf(pod, dns, nodeResolv)));
  return files;
}
