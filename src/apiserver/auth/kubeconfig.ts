/** Kubeconfig files for users and components (CA embedded, bearer token), and `issueKubeconfig`. */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { stringify } from 'yaml';
import { UserError } from '../../util/errors.js';
import { ensureToken } from './tokens.js';

export function renderKubeconfig(opts: {
  server: string;
  caCertPem: string;
  user: string;
  token: string;
  namespace?: string;
}): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: 'skiff',
        cluster: { server: opts.server, 'certificate-authority-data': Buffer.from(opts.caCertPem).toString('base64') },
      },
    ],
    users: [{ name: opts.user, user: { token: opts.token } }],
    contexts: [
      { name: 'skiff', context: { cluster: 'skiff', user: opts.user, namespace: opts.namespace ?? 'default' } },
    ],
    'current-context': 'skiff',
    preferences: {},
  });
}

export function writeFileAtomic(path: string, content: string, mode = 0o600): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, content, { mode });
  renameSync(tmp, path);
}

export interface IssueOptions {
  stateDir: string;
  user: string;
  groups: string[];
  server: string;
  out: string;
}

/**
 * Add (or reuse) a token for `user` with `groups` in DIR/tokens.json and write a kubeconfig for it to `out`.
 * The running API server picks the token up without a restart.
 */
export function issueKubeconfig(o: IssueOptions): { token: string; path: string } {
  if (!/^https:\/\//.test(o.server)) throw new UserError(`--server must be an https:// URL, got "${o.server}"`);
  let caCertPem: string;
  try {
    caCertPem = readFileSync(join(o.stateDir, 'pki', 'ca.crt'), 'utf8');
  } catch {
    throw new UserError(
      `no CA in ${join(o.stateDir, 'pki')}: start \`skiff apiserver --state-dir ${o.stateDir}\` once first`,
    );
  }
  const token = ensureToken(o.stateDir, o.user, o.groups);
  writeFileAtomic(o.out, renderKubeconfig({ server: o.server, caCertPem, user: o.user, token }));
  return { token, path: o.out };
}
