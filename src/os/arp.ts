import { run } from './exec.js';
import { inNs, type NsRef } from './ns.js';

/**
 * Gratuitous ARP through iputils' arping: one unsolicited ARP request for `ip` from `dev` (`-U`: sender
 * and target are both `ip`), so neighbours that cache the address update it to this interface's MAC at
 * once instead of waiting for their entry to go stale. What MetalLB's L2 speaker sends on takeover.
 */
export async function gratuitousArp(ns: NsRef, dev: string, ip: string): Promise<void> {
  await run(inNs(ns, ['arping', '-U', '-c', '1', '-w', '1', '-I', dev, ip]), { timeoutMs: 5000 });
}
