import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeIP } from '../../src/lab/addressing.js';
import { httpGetIn } from '../../src/lab/http.js';
import { Lab, requireRootAndTools } from '../helpers/lab.js';
import { type Cluster, until, upCluster } from './helpers.js';

/**
 * Config into pods on a real `skiff up` lab, driven by the real kubectl: the study notes' Node app served
 * from a ConfigMap volume behind a NodePort; env from Secrets, ConfigMaps, the downward API and Services;
 * secret/downwardAPI/emptyDir volumes seen inside the pod through `skiff exec`; a missing ConfigMap shown as
 * CreateContainerConfigError by `kubectl get pods`.
 */
const run = promisify(execFile);
const SKIFF = resolve(import.meta.dirname, '../../dist/skiff.mjs');
const lab = new Lab('cfg');
let c: Cluster;

const kubectl = async (args: string[], input?: string): Promise<string> => {
  const p = run('kubectl', ['--kubeconfig', join(c.stateDir, 'admin.kubeconfig'), ...args], { timeout: 60_000 });
  if (input !== undefined) p.child.stdin?.end(input);
  return (await p).stdout;
};
const inPod = async (pod: string, script: string): Promise<string> =>
  (
    await run(process.execPath, [SKIFF, 'exec', '--state-dir', c.stateDir, `pod/${pod}`, '--', 'sh', '-c', script], {
      timeout: 60_000,
    })
  ).stdout;

const APP_JS = `const http = require('node:http');
const os = require('node:os');
http.createServer((req, res) => res.end('Container Hostname: ' + os.hostname() + '\\n')).listen(8080);
`;

const MANIFESTS = `apiVersion: v1
kind: ConfigMap
metadata: {name: node-app}
data:
  app.js: ${JSON.stringify(APP_JS)}
---
apiVersion: v1
kind: Pod
metadata: {name: node-app, labels: {app: node-app}}
spec:
  containers:
  - name: app
    image: node:20
    command: [node, /app/app.js]
    ports: [{containerPort: 8080}]
    volumeMounts: [{name: code, mountPath: /app}]
  volumes:
  - name: code
    configMap: {name: node-app}
---
apiVersion: v1
kind: Service
metadata: {name: node-app}
spec:
  type: NodePort
  selector: {app: node-app}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Secret
metadata: {name: creds}
stringData: {password: s3cret, tls.key: KEY}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {mode: fast, level: "3", "1st": x}
`;

const CHECKER = `apiVersion: v1
kind: Pod
metadata: {name: checker, labels: {tier: test}, annotations: {note: hi}}
spec:
  containers:
  - name: main
    image: busybox
    command: [sleep, "3600"]
    resources: {limits: {memory: 64Mi}}
    envFrom: [{prefix: CFG_, configMapRef: {name: settings}}]
    env:
    - {name: PASSWORD, valueFrom: {secretKeyRef: {name: creds, key: password}}}
    - {name: MODE, valueFrom: {configMapKeyRef: {name: settings, key: mode}}}
    - {name: OPTIONAL, valueFrom: {configMapKeyRef: {name: nope, key: x, optional: true}}}
    - {name: MY_POD_IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}
    - {name: MY_NODE, valueFrom: {fieldRef: {fieldPath: spec.nodeName}}}
    - {name: MY_NS, valueFrom: {fieldRef: {fieldPath: metadata.namespace}}}
    - {name: MEM_MI, valueFrom: {resourceFieldRef: {resource: limits.memory, divisor: 1Mi}}}
    - {name: GREETING, value: "mode is $(MODE)"}
    volumeMounts:
    - {name: secret, mountPath: /etc/creds}
    - {name: info, mountPath: /etc/podinfo}
    - {name: shared, mountPath: /shared}
  - name: writer
    image: busybox
    command: [sh, -c, "echo from-writer > /data/hello; sleep 3600"]
    volumeMounts: [{name: shared, mountPath: /data}]
  volumes:
  - name: secret
    secret: {secretName: creds, items: [{key: password, path: db/password, mode: 0400}]}
  - name: info
    downwardAPI:
      items:
      - {path: labels, fieldRef: {fieldPath: metadata.labels}}
      - {path: name, fieldRef: {fieldPath: metadata.name}}
  - name: shared
    emptyDir: {}
---
apiVersion: v1
kind: Pod
metadata: {name: nolinks}
spec:
  enableServiceLinks: false
  containers: [{name: main, image: busybox, command: [sleep, "3600"]}]
---
apiVersion: v1
kind: Pod
metadata: {name: broken}
spec:
  containers:
  - name: main
    image: busybox
    command: [sleep, "3600"]
    env: [{name: X, valueFrom: {configMapKeyRef: {name: missing-cm, key: x}}}]
`;

describe('config into pods', () => {
  beforeAll(async () => {
    requireRootAndTools(['ip', 'nsenter', 'unshare', 'socat', 'nft', 'kubectl', 'setpriv']);
    c = await upCluster(lab, { cni: 'bridge', proxyMode: 'nftables', nodes: 2 });
    await kubectl(['apply', '-f', '-'], MANIFESTS);
    await kubectl(['apply', '-f', '-'], CHECKER);
  }, 300_000);

  afterAll(async () => {
    await lab.cleanup();
  });

  it("serves the study notes' Node app from a ConfigMap volume through a NodePort, from the lab's client", async () => {
    const svc = JSON.parse(await kubectl(['get', 'svc', 'node-app', '-o', 'json'])) as {
      spec: { ports: { nodePort: number }[] };
    };
    const nodePort = svc.spec.ports[0]!.nodePort;
    const body = await until('the Node app answering on the NodePort', 90_000, () =>
      httpGetIn(c.ns('client'), nodeIP(1), nodePort, '/'),
    );
    expect(body).toBe('Container Hostname: node-app\n');
  }, 120_000);

  it('fills env from Secrets, ConfigMaps, the downward API and Services', async () => {
    await until('checker running', 90_000, async () =>
      (await kubectl(['get', 'pod', 'checker', '-o', 'jsonpath={.status.phase}'])) === 'Running' ? true : undefined,
    );
    const pod = JSON.parse(await kubectl(['get', 'pod', 'checker', '-o', 'json'])) as {
      spec: { nodeName: string };
      status: { podIP: string };
    };
    const env = Object.fromEntries(
      (await until('checker exec', 30_000, () => inPod('checker', 'env').catch(() => undefined)))
        .trim()
        .split('\n')
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    ) as Record<string, string>;
    const svcIP = (await kubectl(['get', 'svc', 'node-app', '-o', 'jsonpath={.spec.clusterIP}'])).trim();
    expect(env).toMatchObject({
      PASSWORD: 's3cret',
      MODE: 'fast',
      CFG_mode: 'fast',
      CFG_level: '3',
      MY_POD_IP: pod.status.podIP,
      MY_NODE: pod.spec.nodeName,
      MY_NS: 'default',
      MEM_MI: '64',
      GREETING: 'mode is fast',
      NODE_APP_SERVICE_HOST: svcIP,
      NODE_APP_SERVICE_PORT: '80',
      NODE_APP_PORT: `tcp://${svcIP}:80`,
      NODE_APP_PORT_80_TCP_ADDR: svcIP,
      KUBERNETES_SERVICE_HOST: '10.96.0.1',
      KUBERNETES_SERVICE_PORT: '443',
    });
    expect(env.OPTIONAL).toBeUndefined();
    expect(env.CFG_1st).toBe('x'); // the prefix makes a key that starts with a digit a valid name
    await until('nolinks running', 60_000, async () =>
      (await kubectl(['get', 'pod', 'nolinks', '-o', 'jsonpath={.status.phase}'])) === 'Running' ? true : undefined,
    );
    const plain = await until('nolinks exec', 30_000, () => inPod('nolinks', 'env').catch(() => undefined));
    expect(plain).toContain('KUBERNETES_SERVICE_HOST=10.96.0.1');
    expect(plain).not.toContain('NODE_APP_SERVICE_HOST');
  }, 180_000);

  it('mounts secret (items, mode), downwardAPI and a shared emptyDir read-only/read-write as declared', async () => {
    const out = await inPod(
      'checker',
      'cat /etc/creds/db/password; echo; stat -L -c %a /etc/creds/db/password; ls /etc/creds;' +
        ' cat /etc/podinfo/name; echo; cat /etc/podinfo/labels; echo; touch /etc/creds/x 2>&1;' +
        ' cat /shared/hello',
    );
    expect(out).toMatch(/^s3cret\n400\ndb\nchecker\ntier="test"\n.*Read-only file system\nfrom-writer\n$/s);
  });

  it('shows a missing ConfigMap as CreateContainerConfigError in kubectl get pods', async () => {
    const line = await until('broken pod status', 60_000, async () => {
      const t = await kubectl(['get', 'pod', 'broken']);
      return /CreateContainerConfigError/.test(t) ? t : undefined;
    });
    expect(line).toMatch(/broken\s+0\/1\s+CreateContainerConfigError/);
    const msg = await kubectl([
      'get',
      'pod',
      'broken',
      '-o',
      'jsonpath={.status.containerStatuses[0].state.waiting.message}',
    ]);
    expect(msg).toBe('configmap "missing-cm" not found');
    const described = await kubectl(['describe', 'pod', 'broken']);
    expect(described).toMatch(/State:\s+Waiting\n\s+Reason:\s+CreateContainerConfigError/);
  });
});
