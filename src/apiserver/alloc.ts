/**
 * Service ClusterIP and NodePort allocation, done synchronously on create like kube-apiserver. The state is
 * rebuilt from the stored Services at start (so it survives restarts) and kept in memory; one API server
 * owns a state directory, so the in-memory sets are the single writer.
 */
import ipaddr from 'ipaddr.js';

export class AllocationError extends Error {}

export class Allocator {
  private readonly base: number;
  private readonly size: number;
  private readonly usedIPs = new Set<number>();
  private readonly usedPorts = new Set<number>();
  private nextIP = 0;
  private nextPort: number;

  constructor(
    readonly serviceCIDR: string,
    readonly nodePortRange: { min: number; max: number },
  ) {
    let parsed: [ipaddr.IPv4 | ipaddr.IPv6, number];
    try {
      parsed = ipaddr.parseCIDR(serviceCIDR);
    } catch {
      throw new AllocationError(`invalid service CIDR "${serviceCIDR}"`);
    }
    const [addr, bits] = parsed;
    if (addr.kind() !== 'ipv4') throw new AllocationError('only IPv4 service CIDRs are supported');
    if (bits > 30 || bits < 8) throw new AllocationError(`service CIDR /${bits} must be between /8 and /30`);
    const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
    this.base = (toInt(addr.toString()) & mask) >>> 0;
    this.size = 2 ** (32 - bits);
    if (nodePortRange.min < 1 || nodePortRange.max > 65535 || nodePortRange.min > nodePortRange.max) {
      throw new AllocationError(`invalid node port range ${nodePortRange.min}-${nodePortRange.max}`);
    }
    this.nextPort = nodePortRange.min;
  }

  /** The first usable address (network + 1): kube-apiserver gives it to the "kubernetes" Service. */
  firstIP(): string {
    return fromInt(this.base + 1);
  }

  inRange(ip: string): boolean {
    if (!ipaddr.IPv4.isValidFourPartDecimal(ip)) return false;
    const n = toInt(ip);
    return n > this.base && n < this.base + this.size - 1;
  }

  /** Allocate `requested` (must be free and in range) or the next free address. */
  allocateIP(requested?: string): string {
    if (requested) {
      if (!this.inRange(requested))
        throw new AllocationError(
          `failed to allocate IP ${requested}: provided IP is not in the valid range. The range of valid IPs is ${this.serviceCIDR}`,
        );
      const n = toInt(requested);
      if (this.usedIPs.has(n))
        throw new AllocationError(`failed to allocate IP ${requested}: provided IP is already allocated`);
      this.usedIPs.add(n);
      return requested;
    }
    const usable = this.size - 2;
    for (let i = 0; i < usable; i++) {
      const off = 1 + ((this.nextIP + i) % usable);
      const n = this.base + off;
      if (!this.usedIPs.has(n)) {
        this.usedIPs.add(n);
        this.nextIP = off % usable;
        return fromInt(n);
      }
    }
    throw new AllocationError(`range is full: no ClusterIP left in ${this.serviceCIDR}`);
  }

  releaseIP(ip: string | undefined): void {
    if (ip && ipaddr.IPv4.isValidFourPartDecimal(ip)) this.usedIPs.delete(toInt(ip));
  }

  /** Mark as used without checks (rebuilding from stored Services). */
  markIP(ip: string | undefined): void {
    if (ip && this.inRange(ip)) this.usedIPs.add(toInt(ip));
  }

  portInRange(p: number): boolean {
    return p >= this.nodePortRange.min && p <= this.nodePortRange.max;
  }

  allocatePort(requested?: number): number {
    const { min, max } = this.nodePortRange;
    if (requested !== undefined) {
      if (!this.portInRange(requested))
        throw new AllocationError(`provided port is not in the valid range. The range of valid ports is ${min}-${max}`);
      if (this.usedPorts.has(requested)) throw new AllocationError('provided port is already allocated');
      this.usedPorts.add(requested);
      return requested;
    }
    const count = max - min + 1;
    for (let i = 0; i < count; i++) {
      const p = min + ((this.nextPort - min + i) % count);
      if (!this.usedPorts.has(p)) {
        this.usedPorts.add(p);
        this.nextPort = p + 1 > max ? min : p + 1;
        return p;
      }
    }
    throw new AllocationError(`range is full: no node port left in ${min}-${max}`);
  }

  releasePort(p: number | undefined): void {
    if (typeof p === 'number') this.usedPorts.delete(p);
  }

  markPort(p: number | undefined): void {
    if (typeof p === 'number' && this.portInRange(p)) this.usedPorts.add(p);
  }

  usage(): { ips: number; ports: number } {
    return { ips: this.usedIPs.size, ports: this.usedPorts.size };
  }
}

function toInt(ip: string): number {
  return ip.split('.').reduce((acc, p) => ((acc << 8) + Number(p)) >>> 0, 0);
}

function fromInt(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}
