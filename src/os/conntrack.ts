import { runRaw } from './exec.js';
import { CURRENT_NS, type NsRef } from './ns.js';

/**
 * Connection-tracking cleanup through the conntrack CLI. UDP has no connection teardown, so when a
 * service endpoint goes away the kernel would keep steering a client's flow to it until the entry times
 * out; the proxy deletes those entries (as kube-proxy does).
 */
export interface UdpFlowFilter {
  /** Original destination address (the service VIP / external IP); omit for NodePorts. */
  origDst?: string;
  /** Original destination port (the service port or NodePort). */
  origPortDst?: number;
  /** The endpoint address the flow was DNATed to; omit for every flow to that destination (portmap ADD). */
  dstNat?: string;
}

function conntrackDeleteArgv(f: UdpFlowFilter): string[] {
  const argv = ['conntrack', '-D', '-p', 'udp'];
  if (f.origDst) argv.push('--orig-dst', f.origDst);
  if (f.origPortDst) argv.push('--orig-port-dst', String(f.origPortDst));
  if (f.dstNat) argv.push('--dst-nat', f.dstNat);
  return argv;
}

/** Delete matching UDP flows; returns how many went. "0 flow entries" (exit 1) is not an error. */
export async function conntrackDeleteUdp(f: UdpFlowFilter, ns: NsRef = CURRENT_NS): Promise<number> {
  const argv = conntrackDeleteArgv(f);
  const res = await runRaw(argv, { ns, timeoutMs: 10_000 });
  const m = /(\d+) flow entries have been deleted/.exec(res.stderr + res.stdout);
  if (res.code !== 0 && !m) throw new Error(`${argv.join(' ')}: exit ${res.code}: ${res.stderr.trim()}`);
  return m ? Number(m[1]) : 0;
}
