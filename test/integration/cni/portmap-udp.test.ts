import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CniRuntime, parseConfList } from '../../../src/cni/runtime/index.js';
import { getLink } from '../../../src/os/net.js';
import { run, runRaw } from '../../../src/os/exec.js';
import { namedNs, nsFromPath } from '../../../src/os/ns.js';
import { Lab, requireRootAndTools } from '../../helpers/lab.js';
import { nodeExec, OUR_BIN } from './cnilab.js';

/**
 * portmap drops the node's UDP conntrack entries for a new hostPort on ADD: a client that was already
 * sending to the port (before any pod mapped it) is DNATed to the pod from its next packet on, instead of
 * riding its old unmapped entry forever. And bridge takes the pod MAC the runtime asks for.
 */
describe('portmap UDP conntrack flush; bridge mac', () => {
  const lab = new Lab('pmudp');
  let node = '';
  let client = '';
  let rt: CniRuntime;
  const list = (dataDir: string) =>
    parseConfList(
      JSON.stringify({
        cniVersion: '1.0.0',
        name: 'udpnet',
        plugins: [
          {
            type: 'bridge',
            bridge: 'udp0',
            isGateway: true,
            capabilities: { mac: true },
            ipam: { type: 'host-local', ranges: [[{ subnet: '10.244.80.0/24' }]], dataDir },
          },
          { type: 'portmap', capabilities: { portMappings: true } },
        ],
      }),
    );
  let net: ReturnType<typeof list>;

  beforeAll(async () => {
    requireRootAndTools(['ip', 'nft', 'conntrack', 'socat', 'flock']);
    node = await lab.netns('node');
    client = await lab.netns('client');
    await lab.veth(node, 'ext0', client, 'eth0');
    await run(['ip', '-n', node, 'addr', 'add', '192.168.99.1/24', 'dev', 'ext0']);
    await run(['ip', '-n', client, 'addr', 'add', '192.168.99.2/24', 'dev', 'eth0']);
    const tmp = lab.tmpdir();
    rt = new CniRuntime({ path: [OUR_BIN], cacheDir: join(tmp, 'cache'), exec: nodeExec(node) });
    net = list(tmp);
  });
  afterAll(() => lab.cleanup());

  const udpFlows = async () =>
    (await runRaw(['conntrack', '-L', '-p', 'udp', '--orig-port-dst', '15353'], { ns: namedNs(node) })).stdout
      .split('\n')
      .filter((l) => l.includes('dport=15353'));
  const send = () =>
    runRaw(['socat', '-u', '-', 'UDP-SENDTO:192.168.99.1:15353,sourceport=40000'], {
      ns: namedNs(client),
      input: 'ping\n',
    });

  it('a client sending before the mapping reaches the pod after ADD', async () => {
    // a first attachment with a TCP mapping puts the node's NAT hooks (and so conntrack) in place
    const a = {
      containerId: 'udp-a',
      netns: `/run/netns/${await lab.netns('a')}`,
      ifname: 'eth0',
      capabilityArgs: { portMappings: [{ hostPort: 18000, containerPort: 80, protocol: 'tcp' }] },
    };
    await rt.addNetworkList(net, a);
    await send();
    expect((await udpFlows()).length).toBe(1);
    expect((await udpFlows())[0]).not.toMatch(/src=10\.244\.80\./); // unmapped: nobody answers from a pod

    const b = {
      containerId: 'udp-b',
      netns: `/run/netns/${await lab.netns('b')}`,
      ifname: 'eth0',
      capabilityArgs: { portMappings: [{ hostPort: 15353, containerPort: 5353, protocol: 'udp' }] },
    };
    const res = await rt.addNetworkList(net, b);
    const podIp = res.ips?.[0]?.address.split('/')[0] as string;
    expect(await udpFlows()).toEqual([]);
    await send();
    const flows = await udpFlows();
    expect(flows.length).toBe(1);
    expect(flows[0]).toContain(`src=${podIp} dst=192.168.99.2 sport=5353`);
    await rt.delNetworkList(net, b);
    await rt.delNetworkList(net, a);
  });

  it('bridge gives the pod the MAC of the mac capability', async () => {
    const c = {
      containerId: 'mac-c',
      netns: `/run/netns/${await lab.netns('c')}`,
      ifname: 'eth0',
      capabilityArgs: { mac: '0a:58:0a:f4:50:63' },
    };
    const res = await rt.addNetworkList(net, c);
    expect((await getLink(nsFromPath(c.netns), 'eth0'))?.address).toBe('0a:58:0a:f4:50:63');
    expect(res.interfaces?.find((i) => i.sandbox)?.mac).toBe('0a:58:0a:f4:50:63');
    await rt.checkNetworkList(net, c);
    await rt.delNetworkList(net, c);
  });
});
