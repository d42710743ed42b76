import { errorMessage } from '../../../util/errors.js';
import { type ConformanceCase, ensure, pass } from '../types.js';
import { attachment, baseline, noLeftovers } from './common.js';

export const concurrentCase: ConformanceCase = {
  id: 'concurrent',
  title: 'N concurrent ADDs get distinct addresses; their DELs leave nothing behind',
  async run(h) {
    const before = await baseline(h);
    const rt = h.runtime();
    const n = h.concurrency;
    const atts = await Promise.all(
      Array.from({ length: n }, async (_x, i) => attachment(await h.pod(`c${i}`), `conc-${i}`)),
    );
    const results = await Promise.allSettled(atts.map((a) => rt.addNetworkList(h.net, a)));
    const errors = results.flatMap((r) => (r.status === 'rejected' ? [errorMessage(r.reason)] : []));
    const ips = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value.ips?.[0]?.address] : []));
    await Promise.all(atts.map((a) => rt.delNetworkList(h.net, a).catch(() => undefined)));
    ensure(errors.length === 0, `${errors.length}/${n} ADDs failed: ${errors[0]}`);
    ensure(new Set(ips).size === n, `addresses not distinct: ${ips.join(' ')}`);
    noLeftovers(before, await h.snapshot(), `${n} DELs`);
    return pass(`${n} distinct`);
  },
};
