/**
 * `skiff apiserver`: the Kubernetes-compatible API server; `skiff apiserver issue-kubeconfig`: credentials for
 * a node or another client (added to DIR/tokens.json; the running server accepts them at once).
 */
import { Command, InvalidArgumentError } from 'commander';
import { UserError, errorMessage } from '../util/errors.js';
import { parseArgs } from './parse.js';
import { durationOption } from '../client/duration.js';

function intArg(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('must be a port number (0-65535)');
  return n;
}

export async function main(argv: string[]): Promise<void> {
  if (argv[0] === 'issue-kubeconfig') return issue(argv.slice(1));
  const cmd = new Command('skiff apiserver')
    .description('Run the Kubernetes-compatible API server (HTTPS, bearer tokens). Subcommand: issue-kubeconfig.')
    .requiredOption('--state-dir <dir>', 'directory for the database, PKI, tokens and kubeconfigs')
    .option('--port <port>', 'HTTPS port (0 = pick a free one)', intArg, 6443)
    .option('--bind-address <ip>', 'address to listen on', '127.0.0.1')
    .option(
      '--advertise-address <ip>',
      'address written into kubeconfigs (default: the bind address, or 127.0.0.1 for 0.0.0.0)',
    )
    .option('--store <kind>', 'storage backend: sqlite, etcd or memory', 'sqlite')
    .option('--etcd-endpoints <urls>', 'comma-separated etcd client URLs (with --store etcd)', 'http://127.0.0.1:2379')
    .option('--service-cluster-ip-range <cidr>', 'CIDR Service cluster IPs are allocated from', '10.96.0.0/12')
    .option('--service-node-port-range <range>', 'port range for NodePort services', '30000-32767')
    .option(
      '--max-requests-per-second <n>',
      'per-client sustained request rate, burst twice this (system:masters is exempt)',
      '300',
    )
    .option('--max-watches <n>', 'maximum concurrent watches', '1000')
    .option('--max-body-bytes <n>', 'request body size cap', String(3 * 1024 * 1024))
    .option(
      '--event-ttl <duration>',
      'how long an Event is kept after its last write (e.g. 1h, 90s)',
      durationOption,
      3_600_000,
    );
  if (!parseArgs(cmd, argv)) return;
  const o = cmd.opts<{
    stateDir: string;
    port: number;
    bindAddress: string;
    advertiseAddress?: string;
    store: string;
    etcdEndpoints: string;
    serviceClusterIpRange: string;
    serviceNodePortRange: string;
    maxRequestsPerSecond: string;
    maxWatches: string;
    maxBodyBytes: string;
    eventTtl: number;
  }>();
  if (!['sqlite', 'etcd', 'memory'].includes(o.store))
    throw new UserError(`--store must be sqlite, etcd or memory (got "${o.store}")`);
  const num = (flag: string, v: string) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new UserError(`${flag} must be a positive number (got "${v}")`);
    return n;
  };
  const { startApiServer, parsePortRange } = await import('../apiserver/index.js');
  let range;
  try {
    range = parsePortRange(o.serviceNodePortRange);
  } catch (e) {
    throw new UserError(errorMessage(e));
  }
  const rate = num('--max-requests-per-second', o.maxRequestsPerSecond);
  let server;
  try {
    server = await startApiServer({
      stateDir: o.stateDir,
      port: o.port,
      bindAddress: o.bindAddress,
      advertiseAddress: o.advertiseAddress,
      store: o.store as 'sqlite' | 'etcd' | 'memory',
      etcdEndpoints: o.etcdEndpoints
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
      serviceClusterIPRange: o.serviceClusterIpRange,
      serviceNodePortRange: range,
      eventTtlMs: o.eventTtl,
      limits: {
        rate,
        burst: rate * 2,
        maxWatches: num('--max-watches', o.maxWatches),
        maxBodyBytes: num('--max-body-bytes', o.maxBodyBytes),
      },
    });
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`skiff apiserver: ${errorMessage(e)}`);
  }
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      void server.close().finally(resolve);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
}

async function issue(argv: string[]): Promise<void> {
  const cmd = new Command('skiff apiserver issue-kubeconfig')
    .description('Write a kubeconfig with a new (or the existing) bearer token for a user, e.g. a node.')
    .requiredOption('--state-dir <dir>', 'the API server state directory')
    .requiredOption('--user <name>', 'user name, e.g. system:node:node-1')
    .option('--group <group...>', 'groups (repeatable), e.g. system:nodes', [])
    .requiredOption('--server <url>', 'API server URL written into the kubeconfig, e.g. https://198.18.0.1:6443')
    .requiredOption('--out <file>', 'where to write the kubeconfig');
  if (!parseArgs(cmd, argv)) return;
  const o = cmd.opts<{ stateDir: string; user: string; group: string[]; server: string; out: string }>();
  const { issueKubeconfig } = await import('../apiserver/auth/kubeconfig.js');
  const r = issueKubeconfig({ stateDir: o.stateDir, user: o.user, groups: o.group, server: o.server, out: o.out });
  process.stdout.write(`${r.path}\n`);
}
