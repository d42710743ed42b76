/**
 * Start the ingress controller from command-line flags: shared by `skiff ingress-controller` (a process
 * started by hand or by a test with --kubeconfig) and the built-in image `skiff/ingress` (in a pod, with
 * the in-cluster ServiceAccount credentials).
 */
import { createServer } from 'node:http';
import { Command } from 'commander';
import { KubeConfig } from '@kubernetes/client-node';
import { loadKubeConfig } from '../client/kubeconfig.js';
import { parseArgs } from '../cmd/parse.js';
import { UserError } from '../util/errors.js';
import { createLogger } from '../util/log.js';
import { IngressController } from './controller.js';

export const DEFAULT_INGRESS_CONTROLLER = 'skiff.dev/ingress-controller';
export const DEFAULT_GATEWAY_CONTROLLER = 'skiff.dev/gateway-controller';

export interface Running {
  controller: IngressController;
  close(): Promise<void>;
}

const port = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UserError(`expected a port 0-65535, got "${v}"`, 2);
  return n;
};

function inClusterConfig(): KubeConfig {
  if (!process.env.KUBERNETES_SERVICE_HOST)
    throw new UserError('no --kubeconfig given and not in a pod (KUBERNETES_SERVICE_HOST is unset)', 2);
  const kc = new KubeConfig();
  kc.loadFromCluster();
  return kc;
}

/** Parse flags and start; resolves once the caches synced and the listeners serve. */
export async function startIngressController(
  argv: string[],
  name = 'skiff ingress-controller',
): Promise<Running | undefined> {
  const program = new Command(name)
    .description('route HTTP(S) by host and path to Services, from Ingress and Gateway API HTTPRoute objects')
    .option('--kubeconfig <file>', 'kubeconfig to reach the API server (default: the in-cluster ServiceAccount)')
    .option('--bind-address <ip>', 'address the HTTP and HTTPS listeners bind', '0.0.0.0')
    .option('--http-port <port>', 'HTTP listener port', port, 80)
    .option('--https-port <port>', 'HTTPS listener port', port, 443)
    .option('--healthz-port <port>', 'port of /healthz (200 once the caches synced; 0 = off)', port, 10254)
    .option(
      '--controller-name <name>',
      'IngressClass spec.controller this controller serves',
      DEFAULT_INGRESS_CONTROLLER,
    )
    .option('--gateway-controller-name <name>', 'GatewayClass spec.controllerName served', DEFAULT_GATEWAY_CONTROLLER)
    .option(
      '--publish-service <ns/name>',
      'the Service in front of the controller; its LoadBalancer address goes into status',
    );
  if (!parseArgs(program, argv)) return undefined;
  const o = program.opts<{
    kubeconfig?: string;
    bindAddress: string;
    httpPort: number;
    httpsPort: number;
    healthzPort: number;
    controllerName: string;
    gatewayControllerName: string;
    publishService?: string;
  }>();
  if (o.publishService && !/^[a-z0-9-]+\/[a-z0-9-]+$/.test(o.publishService))
    throw new UserError(`${name}: --publish-service must be NAMESPACE/NAME, got "${o.publishService}"`, 2);
  const kc = o.kubeconfig ? loadKubeConfig(o.kubeconfig) : inClusterConfig();
  const log = createLogger('ingress-controller');
  const controller = new IngressController(
    {
      kc,
      log,
      host: o.bindAddress,
      ingressController: o.controllerName,
      gatewayController: o.gatewayControllerName,
      httpPort: o.httpPort,
      httpsPort: o.httpsPort,
      publishService: o.publishService,
    },
    { http: o.httpPort, https: o.httpsPort },
  );
  let synced = false;
  const healthz = createServer((req, res) => {
    const ok = req.url === '/healthz' && synced;
    res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' }).end(ok ? 'ok\n' : 'not ready\n');
  });
  if (o.healthzPort) await new Promise<void>((r) => healthz.listen(o.healthzPort, o.bindAddress, () => r()));
  await controller.start();
  synced = true;
  return {
    controller,
    close: async () => {
      healthz.close();
      await controller.stop();
    },
  };
}
