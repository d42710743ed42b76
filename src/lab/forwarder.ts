import { createServer } from 'node:net';
import { CP_IP, API_PORT, nsName } from './addressing.js';
import { startUnit } from './supervisor.js';
import type { LabProcess } from './state.js';
import type { LabPaths } from './paths.js';

/**
 * kubectl in the root namespace reaches the API server in the cp namespace without any root-namespace
 * route: two socat processes bridged by a unix socket in the state dir. One lives in the cp namespace
 * (unix socket → 198.18.0.1:6443), the other in the root namespace (127.0.0.1:PORT → unix socket).
 * Loopback only, nothing configured on the host.
 */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export function startForwarder(prefix: string, paths: LabPaths, port: number, supervisor: LabProcess): void {
  startUnit(paths.dir, supervisor, {
    name: 'forwarder-cp',
    argv: ['socat', `UNIX-LISTEN:${paths.apiSock},fork,unlink-early,mode=600`, `TCP:${CP_IP}:${API_PORT}`],
    netns: nsName(prefix, 'cp'),
    log: `${paths.logs}/forwarder.log`,
  });
  startUnit(paths.dir, supervisor, {
    name: 'forwarder-host',
    argv: ['socat', `TCP-LISTEN:${port},bind=127.0.0.1,reuseaddr,fork`, `UNIX-CONNECT:${paths.apiSock}`],
    log: `${paths.logs}/forwarder.log`,
  });
}
