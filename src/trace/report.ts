import type { TraceReport } from './run.js';

/** The report as the terminal shows it: numbered hops, then the outcome in one line. */
export function formatReport(r: TraceReport): string {
  const d = r.destination;
  const out: string[] = [];
  const dst = `${d.host}:${d.port}/${d.protocol}`;
  out.push(
    `trace ${r.source.label} → svc ${d.service}:${d.servicePort}${d.portName ? ` (${d.portName})` : ''} via ${d.via} ${dst}` +
      ` [${r.mode} proxy; probe ${r.probe.proto} sport ${r.probe.sport}, dscp 0x${r.probe.dscp.toString(16)}]`,
  );
  const policy = `externalTrafficPolicy ${d.externalTrafficPolicy}, internalTrafficPolicy ${d.internalTrafficPolicy}`;
  const eps = d.endpoints.map(
    (e) => `${e.ip}:${e.port}${e.ready ? '' : ' (not ready)'}${e.node ? ` on ${e.node}` : ''}`,
  );
  out.push(`  service: ${policy}; endpoints: ${eps.length ? eps.join(', ') : 'none'}`);
  let n = 1;
  out.push(`${n++}. source ${r.source.label}${r.source.ip ? ` (${r.source.ip})` : ''}, netns ${r.source.netns}`);
  out.push(`     route: ${r.route}`);
  for (const h of r.hops) {
    out.push(`${n++}. ${h.node}`);
    for (const l of h.lines) out.push(`     ${l}`);
    if (h.conntrack) {
      const c = h.conntrack;
      const nat = [
        c.reply.src !== c.orig.dst || c.reply.sport !== c.orig.dport
          ? `DNAT to ${c.reply.src}:${c.reply.sport}`
          : 'no DNAT',
        c.reply.dst !== c.orig.src ? `masqueraded as ${c.reply.dst}` : 'source kept (no masquerade)',
      ];
      const flags = c.flags.length ? ` [${c.flags.join(',')}]` : '';
      const flow = `${c.orig.src}:${c.orig.sport} → ${c.orig.dst}:${c.orig.dport}`;
      out.push(`     conntrack: ${flow} ${c.state ?? ''}${flags}: ${nat.join(', ')}`);
    }
  }
  if (r.proxyChoice) {
    const p = r.proxyChoice;
    out.push(
      `${n++}. userspace proxy on ${p.node}: backend connection ${p.from} → ${p.endpoint} (the proxy's choice; source is the node's)`,
    );
  } else if (r.mode === 'userspace' && r.result.outcome === 'answered') {
    out.push(`${n++}. userspace proxy: its backend connection was not seen`);
  }
  if (r.answeringPod) out.push(`${n++}. destination pod ${r.answeringPod}`);
  const reply = r.result.reply.split('\r\n\r\n').pop()?.trim().split('\n')[0]?.slice(0, 120) ?? '';
  const status = /^HTTP\/\S+ \d+[^\r\n]*/.exec(r.result.reply)?.[0];
  const answer = [r.result.outcome, status, reply ? `"${reply}"` : '', r.result.message ? `(${r.result.message})` : '']
    .filter(Boolean)
    .join(' ');
  out.push(`${n}. answer: ${answer} after ${r.result.ms} ms`);
  out.push(`result: ${r.why}`);
  return out.join('\n') + '\n';
}
