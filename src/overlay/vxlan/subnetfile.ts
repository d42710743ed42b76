import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';
import { cidrString, ipv4String } from '../../net/schema.js';

/**
 * The subnet file: a flannel-style env file the VXLAN agent writes and the vxlan CNI plugin reads (the
 * agent's published view of this node's pod subnet, MTU and VTEP). A file format, not kernel state.
 */
export interface SubnetFile {
  /** Cluster pod network, e.g. 10.244.0.0/16 (SKIFF_NETWORK). */
  network: string;
  /** This node's pod subnet with the gateway address, e.g. 10.244.1.1/24 (SKIFF_SUBNET). */
  subnet: string;
  /** Pod / VTEP MTU (SKIFF_MTU). */
  mtu: number;
  vni: number;
  port: number;
  /** Underlay address of this node (SKIFF_UNDERLAY_IP); lets the plugin create the device identically. */
  underlayIP?: string;
  /** The VTEP MAC the agent published (SKIFF_VTEP_MAC). */
  vtepMAC?: string;
}

const cidr4 = cidrString({ family: 4 });
const ip4 = ipv4String;
const mac = z.string().regex(/^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/, 'a MAC address');
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const subnetEnv = z.object({
  SKIFF_NETWORK: cidr4,
  SKIFF_SUBNET: cidr4,
  SKIFF_MTU: int(68, 65535),
  SKIFF_VNI: int(0, 16777215).default(1),
  SKIFF_PORT: int(1, 65535).default(8472),
  SKIFF_UNDERLAY_IP: ip4.optional(),
  SKIFF_VTEP_MAC: mac.optional(),
});

/** Parse KEY=VALUE lines (comments and blank lines allowed, values optionally quoted). */
export function parseSubnetFile(text: string, source = 'subnet file'): SubnetFile {
  const env: Record<string, string> = {};
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line);
    if (!m) throw new Error(`${source}:${i + 1}: expected KEY=VALUE, got ${JSON.stringify(line)}`);
    env[m[1] as string] = (m[2] as string).replace(/^"(.*)"$/, '$1');
  }
  const r = subnetEnv.safeParse(env);
  if (!r.success) {
    const msg = r.error.issues.map((x) => `${x.path.join('.')}: ${x.message}`).join('; ');
    throw new Error(`${source}: ${msg}`);
  }
  const e = r.data;
  return {
    network: e.SKIFF_NETWORK,
    subnet: e.SKIFF_SUBNET,
    mtu: e.SKIFF_MTU,
    vni: e.SKIFF_VNI,
    port: e.SKIFF_PORT,
    ...(e.SKIFF_UNDERLAY_IP ? { underlayIP: e.SKIFF_UNDERLAY_IP } : {}),
    ...(e.SKIFF_VTEP_MAC ? { vtepMAC: e.SKIFF_VTEP_MAC.toLowerCase() } : {}),
  };
}

export function renderSubnetFile(s: SubnetFile): string {
  const lines = [
    `SKIFF_NETWORK=${s.network}`,
    `SKIFF_SUBNET=${s.subnet}`,
    `SKIFF_MTU=${s.mtu}`,
    `SKIFF_VNI=${s.vni}`,
    `SKIFF_PORT=${s.port}`,
  ];
  if (s.underlayIP) lines.push(`SKIFF_UNDERLAY_IP=${s.underlayIP}`);
  if (s.vtepMAC) lines.push(`SKIFF_VTEP_MAC=${s.vtepMAC}`);
  return lines.join('\n') + '\n';
}

export async function readSubnetFile(path: string): Promise<SubnetFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(`cannot read subnet file ${path}: ${code ?? String(err)} (is the vxlan agent running?)`, {
      cause: err,
    });
  }
  return parseSubnetFile(text, path);
}

/** Write atomically (temp file + rename) so a plugin never reads half a file. */
export async function writeSubnetFile(path: string, s: SubnetFile): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, renderSubnetFile(s), { mode: 0o644 });
  await rename(tmp, path);
}
