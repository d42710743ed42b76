import { CniCode, CniError } from './errors.js';
import { type LoadedList, parseConfList } from './runtime/config.js';

/**
 * Conflist templates for `skiff up --cni-conf FILE`: one file for every node, with the values that differ
 * per node written as `{{name}}` (spaces inside the braces allowed). Substitution is textual, before the
 * JSON is parsed, so a number goes in unquoted (`"mtu": {{mtu}}`) and a string quoted
 * (`"subnet": "{{podCIDR}}"`). An unknown name is an error, never left in place.
 */
export interface TemplateValues {
  /** the node's pod CIDR (spec.podCIDR), e.g. 10.244.1.0/24 */
  podCIDR: string;
  /** the whole cluster's pod CIDR, e.g. 10.244.0.0/16 */
  clusterCIDR: string;
  /** the node's InternalIP */
  nodeIP: string;
  nodeName: string;
  /** MTU for pod interfaces */
  mtu: number;
  /** a directory private to this node's kubelet (e.g. for host-local's dataDir) */
  stateDir: string;
}

const TEMPLATE_NAMES: readonly (keyof TemplateValues)[] = [
  'podCIDR',
  'clusterCIDR',
  'nodeIP',
  'nodeName',
  'mtu',
  'stateDir',
];

const PLACEHOLDER = /\{\{\s*([A-Za-z][A-Za-z0-9]*)\s*\}\}/g;

export function renderTemplate(text: string, values: TemplateValues, source = 'template'): string {
  return text.replace(PLACEHOLDER, (_m, name: string) => {
    if (!(TEMPLATE_NAMES as readonly string[]).includes(name))
      throw new CniError(
        CniCode.InvalidNetworkConfig,
        `${source}: unknown placeholder {{${name}}} (known: ${TEMPLATE_NAMES.join(', ')})`,
      );
    return String(values[name as keyof TemplateValues]);
  });
}

/** Render and parse as a conflist: a broken template fails here, with the file named, not in a plugin. */
export function renderConflistTemplate(text: string, values: TemplateValues, source = 'template'): LoadedList {
  return parseConfList(renderTemplate(text, values, source), source);
}

/** Values to validate a template with before any node exists (`skiff up` preflight). */
export const SAMPLE_VALUES: TemplateValues = {
  podCIDR: '10.244.1.0/24',
  clusterCIDR: '10.244.0.0/16',
  nodeIP: '192.168.0.11',
  nodeName: 'node1',
  mtu: 1500,
  stateDir: '/var/lib/skiff/kubelet',
};
