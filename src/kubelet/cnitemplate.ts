import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { renderConflistTemplate, type TemplateValues } from '../cni/template.js';

/** Pod interfaces' MTU in a rendered template: the lab's underlay is a plain veth (no encapsulation). */
const TEMPLATE_MTU = 1500;

/**
 * `--cni-conf-template`: render the conflist template (src/cni/template.ts) with this node's values, check
 * it is a valid conflist, and write it atomically where the runtime reads its network.
 */
export function renderTemplateFile(template: string, values: Omit<TemplateValues, 'mtu'>, out: string): void {
  const { bytes } = renderConflistTemplate(readFileSync(template, 'utf8'), { mtu: TEMPLATE_MTU, ...values }, template);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(`${out}.tmp`, bytes);
  renameSync(`${out}.tmp`, out);
}
