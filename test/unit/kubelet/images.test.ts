import { describe, expect, it } from 'vitest';
import { builtinImageName } from '../../../src/images/index.js';
import { BUSYBOX_BIN, imageRepository, resolveImage } from '../../../src/images/catalogue.js';
import { parseNetexecArgs } from '../../../src/images/netexec.js';
import { parseHostnameArgs } from '../../../src/images/hostname.js';

describe('built-in images', () => {
  it('maps image references to the catalogue', () => {
    expect(builtinImageName('skiff/netexec')).toBe('netexec');
    expect(builtinImageName('skiff/hostname:1.0')).toBe('hostname');
    expect(builtinImageName('docker.io/skiff/netexec:latest')).toBe('netexec');
    expect(builtinImageName('skiff/unknown')).toBeUndefined();
    expect(builtinImageName('nginx:1.25')).toBeUndefined();
  });
  it('parses agnhost-style flags', () => {
    expect(parseNetexecArgs([])).toEqual({ httpPort: 8080, udpPort: 8081, delayShutdown: 0 });
    expect(parseNetexecArgs(['netexec', '--http-port=9000', '--udp-port', '9001'])).toMatchObject({
      httpPort: 9000,
      udpPort: 9001,
    });
    expect(parseHostnameArgs(['--port=1234'])).toEqual({ port: 1234 });
    expect(() => parseNetexecArgs(['--bogus=1'])).toThrow(/unknown image argument/);
    expect(() => parseNetexecArgs(['--http-port=http'])).toThrow(/expected an integer/);
  });
});

describe('image catalogue', () => {
  it('normalises references and applies command/args over ENTRYPOINT/CMD', () => {
    expect(imageRepository('docker.io/library/busybox:1.36@sha256:abc123')).toBe('busybox');
    expect(imageRepository('registry.k8s.io/e2e-test-images/agnhost:2.47')).toBe(
      'registry.k8s.io/e2e-test-images/agnhost',
    );
    expect(imageRepository('localhost:5000/app')).toBe('localhost:5000/app');
    expect(resolveImage('busybox', {})).toEqual({ kind: 'exec', argv: ['sh'], pathPrefix: [BUSYBOX_BIN] });
    expect(resolveImage('busybox', { args: ['sleep', '1'] })).toMatchObject({ argv: ['sleep', '1'] });
    expect(resolveImage('curlimages/curl:8.5.0', { args: ['-s', 'http://x'] })).toEqual({
      kind: 'exec',
      argv: ['curl', '-s', 'http://x'],
    });
    expect(resolveImage('curlimages/curl', { command: ['sh'], args: ['-c', 'true'] })).toMatchObject({
      argv: ['sh', '-c', 'true'],
    });
    expect(
      resolveImage('registry.k8s.io/e2e-test-images/agnhost:2.47', { args: ['netexec', '--http-port=80'] }),
    ).toEqual({
      kind: 'builtin',
      name: 'netexec',
      args: ['--http-port=80'],
    });
    expect(resolveImage('k8s.gcr.io/serve_hostname', {})).toEqual({
      kind: 'builtin',
      name: 'serve-hostname',
      args: [],
    });
    expect(resolveImage('registry.k8s.io/e2e-test-images/agnhost:2.47', { args: ['pause'] })).toMatchObject({
      kind: 'unsupported',
    });
    expect(resolveImage('skiff/netexec', { args: ['--http-port=1'] })).toMatchObject({
      kind: 'builtin',
      name: 'netexec',
    });
    expect(resolveImage('nginx', {})).toBeUndefined();
  });
});
