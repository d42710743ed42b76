import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type LoadedList, parseConfList } from '../runtime/config.js';
import { renderTemplate, SAMPLE_VALUES } from '../template.js';
import { CniCode, CniError } from '../errors.js';

/**
 * The network a conformance run uses: the user's conflist (a template like `skiff up --cni-conf`'s,
 * rendered with a throwaway pod CIDR), or, without one, bridge → bandwidth → portmap → loopback of the directory under
 * test. Every host-local IPAM without a `dataDir` gets one inside the run's temporary directory, so a run
 * never touches /var/lib/cni.
 */
const CONFORMANCE_CIDR = '10.244.250.0/24';

export function builtinNetwork(path: string[]): (ipamDir: string) => LoadedList {
  const has = (t: string) => path.some((d) => existsSync(join(d, t)));
  if (!has('bridge') || !has('host-local'))
    throw new CniError(CniCode.InvalidNetworkConfig, `no bridge and host-local in ${path.join(':')}: give --conf FILE`);
  return (ipamDir) =>
    parseConfList(
      JSON.stringify({
        cniVersion: '1.0.0',
        name: 'conformance',
        plugins: [
          {
            type: 'bridge',
            bridge: 'cnf0',
            isGateway: true,
            ipMasq: true,
            ipam: { type: 'host-local', ranges: [[{ subnet: CONFORMANCE_CIDR }]], dataDir: ipamDir },
          },
          ...(has('bandwidth') ? [{ type: 'bandwidth', capabilities: { bandwidth: true } }] : []),
          ...(has('portmap') ? [{ type: 'portmap', capabilities: { portMappings: true }, snat: true }] : []),
          ...(has('loopback') ? [{ type: 'loopback' }] : []),
        ],
      }),
      'built-in conformance network',
    );
}

export function templateNetwork(file: string): (ipamDir: string) => LoadedList {
  const text = readFileSync(file, 'utf8');
  return (ipamDir) => {
    const rendered = renderTemplate(text, { ...SAMPLE_VALUES, podCIDR: CONFORMANCE_CIDR, stateDir: ipamDir }, file);
    const raw = JSON.parse(rendered) as { plugins?: Record<string, unknown>[] };
    for (const p of raw.plugins ?? []) withDataDir(p, ipamDir);
    return parseConfList(JSON.stringify(raw), file);
  };
}

/** host-local anywhere in a plugin's config (bridge's ipam, vxlan's delegate.ipam, ...) gets a dataDir. */
function withDataDir(obj: unknown, dir: string): void {
  if (!obj || typeof obj !== 'object') return;
  const o = obj as Record<string, unknown>;
  if (o.type === 'host-local' && o.dataDir === undefined) o.dataDir = dir;
  for (const v of Object.values(o)) withDataDir(v, dir);
}
