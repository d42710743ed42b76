/** Pod-spec fields the kubelet does not implement are refused at admission, through the real kubectl. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl, requireKubectlAndBuild, startServer, type ServerProc } from './server.js';

const pod = (name: string, spec: string): string => `apiVersion: v1
kind: Pod
metadata: {name: ${name}}
spec:
${spec}`;

describe('nothing silently ignored', () => {
  let dir: string;
  let s: ServerProc;
  beforeAll(async () => {
    requireKubectlAndBuild();
    dir = mkdtempSync(join(tmpdir(), 'skiff-unimpl-'));
    s = await startServer(dir, ['--store', 'memory']);
  }, 90_000);
  afterAll(async () => {
    await s?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('refuses unimplemented pod and container fields with a clear message', async () => {
    const r = await kubectl(
      s,
      ['apply', '-f', '-'],
      pod(
        'bad',
        `  hostNetwork: true
  initContainers: [{name: init, image: busybox}]
  securityContext: {runAsUser: 1000, seccompProfile: {type: RuntimeDefault}}
  volumes: [{name: data, nfs: {server: nfs.example, path: /x}}]
  containers:
  - name: c
    image: busybox
    lifecycle: {preStop: {exec: {command: [sleep, "1"]}}}
    securityContext: {readOnlyRootFilesystem: true}
    livenessProbe: {grpc: {port: 9000}}
    volumeMounts: [{name: data, mountPath: /d, mountPropagation: HostToContainer}]
`,
      ),
    );
    expect(r.code).not.toBe(0);
    for (const field of [
      'spec.hostNetwork',
      'spec.initContainers',
      'spec.securityContext.runAsUser',
      'spec.securityContext.seccompProfile.type',
      'spec.volumes[0].nfs',
      'spec.containers[0].lifecycle',
      'spec.containers[0].securityContext.readOnlyRootFilesystem',
      'spec.containers[0].livenessProbe.grpc',
      'spec.containers[0].volumeMounts[0].mountPropagation',
    ])
      expect(r.stderr).toContain(`${field}: Forbidden: not implemented by skiff's kubelet`);
    expect(r.stderr).toMatch(/volume types: emptyDir, hostPath, configMap, secret, downwardAPI, projected/);
  });

  it('refuses them in Deployment templates too, and accepts what the kubelet implements', async () => {
    const dep = await kubectl(s, ['create', 'deployment', 'web', '--image=busybox', '--dry-run=client', '-o', 'json']);
    const obj = JSON.parse(dep.stdout) as { spec: { template: { spec: Record<string, unknown> } } };
    obj.spec.template.spec.hostPID = true;
    const r = await kubectl(s, ['apply', '-f', '-'], JSON.stringify(obj));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("spec.template.spec.hostPID: Forbidden: not implemented by skiff's kubelet");
    const ok = await kubectl(
      s,
      ['apply', '-f', '-'],
      pod(
        'good',
        `  hostAliases: [{ip: 10.0.0.1, hostnames: [db]}]
  dnsPolicy: None
  dnsConfig: {nameservers: [10.96.0.10]}
  enableServiceLinks: false
  securityContext: {}
  volumes: [{name: cache, emptyDir: {}}, {name: cfg, configMap: {name: x, optional: true}}]
  containers:
  - name: c
    image: busybox
    securityContext: {privileged: false, capabilities: {add: [NET_ADMIN], drop: [ALL]}, seccompProfile: {type: Unconfined}}
    volumeMounts: [{name: cache, mountPath: /cache}, {name: cfg, mountPath: /cfg, readOnly: true}]
`,
      ),
    );
    expect(ok.code, ok.stderr).toBe(0);
  });
});
