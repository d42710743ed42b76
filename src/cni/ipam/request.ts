import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { CniCode, CniError } from '../errors.js';
import type { Dns } from '../spec/types.js';
import { formatIp, tryParseIp } from '../../net/ip.js';
import type { HostLocalIpamConf } from './config.js';

/**
 * What a host-local ADD takes from outside `ipam`, as the reference does: requested addresses from
 * `CNI_ARGS` `IP=a,b`, from `args.cni.ips` and from the `ips` capability (`runtimeConfig.ips`, CIDR or bare
 * address); the `ipRanges` capability (`runtimeConfig.ipRanges`), which replaces `ipam.ranges`; and
 * `ipam.resolvConf`, a resolv.conf file whose servers, domain, search list and options become the result's
 * `dns`.
 */
const outerSchema = z
  .object({
    args: z
      .object({
        cni: z
          .object({ ips: z.array(z.string()).optional() })
          .passthrough()
          .optional(),
      })
      .passthrough()
      .optional(),
    runtimeConfig: z
      .object({
        ips: z.array(z.string()).optional(),
        ipRanges: z.array(z.array(z.record(z.unknown())).min(1)).optional(),
      })
      .passthrough()
      .optional(),
  })
  .passthrough();

export interface HostLocalInputs {
  ipam: HostLocalIpamConf;
  requested: string[];
  dns?: Dns;
}

function address(text: string, where: string, code: number): string {
  const ip = tryParseIp(text.split('/')[0] ?? '');
  if (!ip) throw new CniError(code, `invalid requested IP ${JSON.stringify(text)} in ${where}`);
  return formatIp(ip);
}

/** `stdin` is the plugin's whole config (the main plugin's, for in-process host-local). */
export function hostLocalInputs(
  ipam: HostLocalIpamConf,
  stdin: string,
  cniArgs: Record<string, string>,
): HostLocalInputs {
  let raw: unknown;
  try {
    raw = JSON.parse(stdin);
  } catch {
    raw = {};
  }
  const outer = outerSchema.safeParse(raw);
  if (!outer.success)
    throw new CniError(CniCode.InvalidNetworkConfig, `invalid args/runtimeConfig: ${outer.error.issues[0]?.message}`);
  const requested = [
    ...(cniArgs.IP ? cniArgs.IP.split(',').map((t) => address(t, 'CNI_ARGS IP', CniCode.InvalidEnvironment)) : []),
    ...(outer.data.args?.cni?.ips ?? []).map((t) => address(t, 'args.cni.ips', CniCode.InvalidNetworkConfig)),
    ...(outer.data.runtimeConfig?.ips ?? []).map((t) => address(t, 'runtimeConfig.ips', CniCode.InvalidNetworkConfig)),
  ];
  const ipRanges = outer.data.runtimeConfig?.ipRanges;
  const out: HostLocalInputs = {
    ipam: ipRanges?.length ? ({ ...ipam, ranges: ipRanges } as HostLocalIpamConf) : ipam,
    requested: [...new Set(requested)],
  };
  if (ipam.resolvConf) out.dns = parseResolvConf(ipam.resolvConf);
  return out;
}

function parseResolvConf(file: string): Dns {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new CniError(CniCode.IoFailure, `resolvConf ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  const dns: Dns = {};
  for (const line of text.split('\n')) {
    const [key, ...vals] = line
      .replace(/[#;].*$/, '')
      .trim()
      .split(/\s+/);
    if (!key || !vals.length) continue;
    if (key === 'nameserver') dns.nameservers = [...(dns.nameservers ?? []), vals[0] as string];
    else if (key === 'domain') dns.domain = vals[0];
    else if (key === 'search') dns.search = vals;
    else if (key === 'options') dns.options = [...(dns.options ?? []), ...vals];
  }
  return dns;
}
