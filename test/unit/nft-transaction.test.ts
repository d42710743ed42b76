import { describe, expect, it } from 'vitest';
import { Transaction, nftComment } from '../../src/os/nft.js';

const t = { family: 'ip', name: 'skiff' } as const;

describe('nft Transaction', () => {
  it('renders objects in order and batches consecutive elements of one map into one statement', () => {
    const tx = new Transaction()
      .add({ verb: 'add', kind: 'table', table: t })
      .add({ verb: 'add', kind: 'map', table: t, name: 'vips', spec: 'type ipv4_addr . inet_service : verdict;' })
      .add({ verb: 'add', kind: 'element', table: t, name: 'vips', elements: ['10.96.0.1 . 80 : goto svc-a'] })
      .add({ verb: 'add', kind: 'element', table: t, name: 'vips', elements: ['10.96.0.2 . 53 : goto svc-b'] });
    expect(tx.render()).toBe(
      'add table ip skiff\n' +
        'add map ip skiff vips { type ipv4_addr . inet_service : verdict; }\n' +
        'add element ip skiff vips { 10.96.0.1 . 80 : goto svc-a, 10.96.0.2 . 53 : goto svc-b }\n',
    );
  });

  it('keeps user text from escaping a comment', () => {
    expect(nftComment('ns/svc"; flush ruleset')).toBe('comment "ns/svc__ flush ruleset"');
  });
});
