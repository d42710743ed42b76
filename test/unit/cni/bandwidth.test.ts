import { describe, expect, it } from 'vitest';
import { ifbName, tbfParams } from '../../../plugins/bandwidth/bandwidth.js';

/** The bandwidth plugin's names and numbers, checked against what the reference plugin 1.1.1 made. */
describe('bandwidth: reference names and tbf arithmetic', () => {
  it('names the ifb as the reference: bwp + sha512(network + container ID), 15 characters', () => {
    // seen on the kernel after /usr/lib/cni/bandwidth ADD with name "net1", CNI_CONTAINERID "ctr1"
    expect(ifbName('net1', 'ctr1')).toBe('bwp85373d34c684');
    expect(ifbName('skiff', 'a'.repeat(64))).toHaveLength(15);
  });

  it('rate, limit and the bucket in ticks as the reference computes them (tick 15.625 µs)', () => {
    expect(tbfParams(8_000_000, 800_000, 15.625)).toEqual({
      rateBytes: 1_000_000,
      burstBytes: 100_000,
      bufferTicks: 1_562_500,
      limitBytes: 125_000, // rate × 25 ms + burst
      tcBurstBytes: 100_000,
      tcBufferTicks: 1_562_500,
    });
  });

  it('tc makes the same ticks for a burst of whole ticks, one more otherwise (iproute2 rounds up)', () => {
    // 1 Gbit/s, 1 MB: 8000 µs = 125000 ticks exactly
    expect(tbfParams(1e9, 8e6, 15.625)).toMatchObject({
      bufferTicks: 125_000,
      tcBurstBytes: 1e6,
      tcBufferTicks: 125_000,
    });
    // 12 Mbit/s, 64 KB: 42666 µs × 15.625 = 666656.25 ticks, the reference truncates, tc rounds up
    expect(tbfParams(12e6, 512_000, 15.625)).toMatchObject({
      bufferTicks: 666_656,
      tcBurstBytes: 64_000,
      tcBufferTicks: 666_657,
    });
  });

  it("the kubelet's burst (MaxInt32 bits) wraps the bucket as the reference's uint32 arithmetic does", () => {
    const p = tbfParams(1_000_000, 2 ** 31 - 1, 15.625);
    expect(p.bufferTicks).toBe(Number(BigInt.asUintN(32, BigInt(Math.trunc(2_147_483_640 * 15.625)))));
  });
});
