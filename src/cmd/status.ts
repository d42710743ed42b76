import { resolve } from 'node:path';
import { Command } from 'commander';
import { UserError, errorMessage } from '../util/errors.js';
import { ApiClient } from '../kubelet/api.js';
import { labNamespaces } from '../lab/network.js';
import { labPaths } from '../lab/paths.js';
import { DEFAULT_STATE_DIR, readLab } from '../lab/state.js';
import { alive, labComponents } from '../lab/supervisor.js';
import { describeExit } from '../lab/supervision.js';
import { parseArgs } from './parse.js';

interface NodeRow {
  name: string;
  ready: string;
  ip: string;
  podCIDR: string;
}

export async function main(argv: string[]): Promise<void> {
  const cmd = new Command('skiff status')
    .description('show the lab: components, nodes, namespaces and log files')
    .option('--state-dir <dir>', 'lab state directory', DEFAULT_STATE_DIR)
    .option('-o, --output <format>', 'text or json', 'text');
  if (!parseArgs(cmd, argv)) return;
  const o = cmd.opts<{ stateDir: string; output: string }>();
  if (!['text', 'json'].includes(o.output)) throw new UserError(`-o: expected text or json, got "${o.output}"`, 2);
  const dir = resolve(o.stateDir);
  const lab = readLab(dir);
  if (!lab) {
    if (o.output === 'json') process.stdout.write(`${JSON.stringify({ up: false, stateDir: dir })}\n`);
    else process.stdout.write(`no lab in ${dir}\n`);
    return;
  }
  const paths = labPaths(dir);
  const supervisorUp = lab.processes.some((p) => alive(p));
  const components = [
    ...lab.processes.map((p) => ({
      name: p.name,
      pid: p.pid,
      running: alive(p),
      state: alive(p) ? 'running' : 'EXITED',
      restarts: 0,
      lastExit: undefined as string | undefined,
      netns: p.netns ?? '(root)',
      log: p.log,
    })),
    ...labComponents(dir).map((c) => {
      // a unit whose supervisor is gone is not restarted: say so, whatever its last status said
      const state = c.process
        ? 'running'
        : !supervisorUp
          ? 'EXITED'
          : c.status?.state === 'backoff'
            ? 'backoff'
            : c.status?.held
              ? 'stopped'
              : (c.status?.state ?? 'starting');
      return {
        name: c.name,
        pid: c.process?.pid ?? c.status?.pid ?? 0,
        running: !!c.process,
        state,
        restarts: c.status?.restarts ?? 0,
        lastExit: c.status?.lastExit ? describeExit(c.status.lastExit) : undefined,
        ...(c.status?.lastExit ? { lastExitAt: c.status.lastExit.at } : {}),
        ...(c.status?.nextStartAt ? { nextStartAt: c.status.nextStartAt } : {}),
        netns: c.netns ?? '(root)',
        log: c.log,
      };
    }),
  ];
  let nodes: NodeRow[] = [];
  let apiError: string | undefined;
  try {
    if (lab.phase === 'stopped') throw new Error(`stopped; \`skiff up --state-dir ${dir}\` resumes it`);
    const api = new ApiClient(paths.adminKubeconfig);
    const list = await api.request<{
      items: {
        metadata: { name: string };
        spec?: { podCIDR?: string };
        status?: { conditions?: { type: string; status: string }[]; addresses?: { type: string; address: string }[] };
      }[];
    }>('GET', '/api/v1/nodes');
    nodes = list.items.map((n) => ({
      name: n.metadata.name,
      ready: n.status?.conditions?.find((c) => c.type === 'Ready')?.status ?? 'Unknown',
      ip: n.status?.addresses?.find((a) => a.type === 'InternalIP')?.address ?? '',
      podCIDR: n.spec?.podCIDR ?? '',
    }));
  } catch (err) {
    apiError = errorMessage(err);
  }
  const namespaces = labNamespaces(lab.prefix);
  const report = {
    up: true,
    prefix: lab.prefix,
    phase: lab.phase,
    stateDir: dir,
    kubeconfig: paths.adminKubeconfig,
    nodes: lab.nodes,
    cni: lab.cni,
    proxyMode: lab.proxyMode,
    store: lab.store,
    createdAt: lab.createdAt,
    components,
    clusterNodes: nodes,
    namespaces,
    logs: paths.logs,
    ...(apiError ? { apiError } : {}),
  };
  if (o.output === 'json') {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return;
  }
  const lines: string[] = [];
  lines.push(
    `lab ${lab.prefix} (${lab.phase}) in ${dir}: ${lab.nodes} nodes, ${lab.cni} CNI, ${lab.proxyMode} proxy, ${lab.store} store`,
  );
  lines.push(`kubeconfig: ${paths.adminKubeconfig}`);
  lines.push(
    '',
    'COMPONENT'.padEnd(26) +
      'PID'.padEnd(9) +
      'STATE'.padEnd(10) +
      'RESTARTS'.padEnd(10) +
      'LAST-EXIT'.padEnd(11) +
      'LOG',
  );
  for (const c of components) {
    lines.push(
      c.name.padEnd(26) +
        String(c.pid || '-').padEnd(9) +
        c.state.padEnd(10) +
        String(c.restarts).padEnd(10) +
        (c.lastExit ?? '-').padEnd(11) +
        c.log,
    );
  }
  lines.push('', 'NODE'.padEnd(10) + 'READY'.padEnd(9) + 'INTERNAL-IP'.padEnd(16) + 'POD-CIDR');
  for (const n of nodes) lines.push(n.name.padEnd(10) + n.ready.padEnd(9) + n.ip.padEnd(16) + n.podCIDR);
  if (apiError) lines.push(lab.phase === 'stopped' ? `(${apiError})` : `(API server unreachable: ${apiError})`);
  lines.push('', `namespaces: ${namespaces.join(' ')}`);
  process.stdout.write(`${lines.join('\n')}\n`);
}
