// The floor of a TCP relay in Node: accept, connect, pipe both ways, nothing else. The proxy bench runs it
// beside the userspace proxy so its throughput can be read against what Node's socket layer allows.
// Usage: node relay.mjs LISTEN_PORT TARGET_HOST TARGET_PORT   (prints "ready" once listening)
import { connect, createServer } from 'node:net';

const [listenPort, host, port] = process.argv.slice(2);
createServer((client) => {
  const upstream = connect({ host, port: Number(port) });
  client.on('error', () => upstream.destroy());
  upstream.on('error', () => client.destroy());
  client.pipe(upstream);
  upstream.pipe(client);
}).listen(Number(listenPort), '0.0.0.0', () => process.stdout.write('ready\n'));
