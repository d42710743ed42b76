import { type ChildProcess, spawn } from 'node:child_process';

/**
 * A TCP connection to 127.0.0.1:PORT inside a network namespace (a pod's), for the kubelet's port-forward:
 * socat in the namespace, its stdin/stdout the two directions, its stderr the reason a dial failed. This is
 * how dockershim forwarded ports (nsenter + socat); socat is one of the lab's required tools.
 */
export function dialInNetns(netnsPath: string, port: number): ChildProcess {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`invalid port ${port}`);
  return spawn('nsenter', [`--net=${netnsPath}`, '--', 'socat', '-', `TCP4:127.0.0.1:${port}`], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}
