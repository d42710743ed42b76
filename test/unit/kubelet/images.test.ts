import { describe, expect, it } from 'vitest';
import { builtinImageName } from '../../../src/images/index.js';
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
