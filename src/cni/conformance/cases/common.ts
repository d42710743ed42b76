import { parseResult } from '../../spec/convert.js';
import { result040Schema, resultSchema, type Result } from '../../spec/types.js';
import { compareVersions } from '../../spec/version.js';
import { type Harness, type RawOutcome, ensure } from '../types.js';
import { snapshotDiff } from '../snapshot.js';

/** Helpers the cases share: attachments, error expectations, result schema checks and leftover checks. */
let nextHostPort = 18100;

/**
 * The `bandwidth` capability arg every attachment carries (plugins that do not declare the capability never
 * see it): 1 Gbit/s each way with a 1 MB burst, values whose tbf both tc and the reference's netlink
 * arithmetic express exactly.
 */
export const SHAPING = { ingressRate: 1e9, ingressBurst: 8e6, egressRate: 1e9, egressBurst: 8e6 };

/** An attachment with a hostPort of its own (portmap may refuse a hostPort another attachment holds). */
export function attachment(netns: string, id: string) {
  const portMappings = [{ hostPort: nextHostPort++, containerPort: 80, protocol: 'tcp' }];
  return { containerId: id, netns, ifname: 'eth0', capabilityArgs: { portMappings, bandwidth: SHAPING } };
}

export function fullEnv(netns: string, id = 'conformance'): Record<string, string> {
  return { CNI_CONTAINERID: id, CNI_NETNS: netns, CNI_IFNAME: 'eth0' };
}

export function expectError(o: RawOutcome, code: number, what: string): void {
  ensure(o.exit !== 0, `${what}: exit 0, expected an error with code ${code}`);
  ensure(o.json, `${what}: no error JSON on stdout (${o.stdout.slice(0, 200) || o.stderr.slice(0, 200)})`);
  ensure(o.code === code, `${what}: code ${String(o.json.code)} (${String(o.json.msg)}), expected ${code}`);
  ensure(typeof o.json.msg === 'string' && o.json.msg.length > 0, `${what}: error without msg`);
}

/**
 * The result as printed on the wire, validated against the spec's shape for its version (0.3.x/0.4.0 carry
 * ips[].version), with interface indexes in range; returned in the 1.x shape.
 */
export function validResult(raw: unknown, version: string): Result {
  ensure(raw && typeof raw === 'object', 'result is not a JSON object');
  const r = raw as Record<string, unknown>;
  ensure(r.cniVersion === version, `result cniVersion ${String(r.cniVersion)}, expected ${version}`);
  const schema = compareVersions(version, '1.0.0') < 0 ? result040Schema : resultSchema;
  const parsed = schema.safeParse(raw);
  ensure(
    parsed.success,
    `result does not match the ${version} schema: ${parsed.error?.issues[0]?.path.join('.')}: ${parsed.error?.issues[0]?.message}`,
  );
  const result = parseResult(raw, version);
  const n = result.interfaces?.length ?? 0;
  for (const ip of result.ips ?? [])
    ensure(ip.interface === undefined || ip.interface < n, `ip ${ip.address} names interface ${ip.interface} of ${n}`);
  return result;
}

/** The address the chain gave the pod on eth0 is really there. */
export async function addressPresent(h: Harness, netns: string, result: Result): Promise<void> {
  const ip = result.ips?.find((i) => i.interface === undefined || result.interfaces?.[i.interface]?.name === 'eth0');
  ensure(ip, 'result has no IP for eth0');
  const shown = await h.podAddrs(netns, 'eth0');
  ensure(shown?.includes(ip.address), `eth0 in the pod lacks ${ip.address} (has ${shown?.join(' ') ?? 'no eth0'})`);
}

export function noLeftovers(before: string[], after: string[], what: string): void {
  const d = snapshotDiff(before, after);
  ensure(
    d.added.length === 0,
    `${what} left behind: ${d.added.slice(0, 6).join('; ')}${d.added.length > 6 ? ` (+${d.added.length - 6})` : ''}`,
  );
}

const warmed = new WeakSet<Harness>();

/**
 * The node as an attachment must leave it: after one warm-up ADD+DEL (so node-wide state such as the bridge
 * and base chains exists, which DEL rightly keeps), snapshot it.
 */
export async function baseline(h: Harness): Promise<string[]> {
  if (!warmed.has(h)) {
    const rt = h.runtime();
    const att = attachment(await h.pod('warm'), 'warmup');
    await rt.addNetworkList(h.net, att);
    await rt.delNetworkList(h.net, att);
    warmed.add(h);
  }
  return h.snapshot();
}
