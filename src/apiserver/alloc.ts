/**
 * Service ClusterIP and NodePort allocation, done synchronously on create like kube-apiserver. The state is
 * rebuilt from the stored Services at start (so it survives restarts) and kept in memory; one API server
 * owns a state directory, so the in-memory sets are the single writer.
 *
 * `--service-cluster-ip-range` holds one CIDR or two of different families ("10.96.0.0/12,fd00:10:96::/112"),
 * the first being the cluster's primary family, exactly as kube-apiserver takes it.
 */
import { type Cidr, parseCidr } from '../net/cidr.js';
import { type Ip, type IpFamily, formatIp, tryParseIp } from '../net/ip.js';

export class AllocationError extends Error {}

/** kube-apiserver keeps a bitmap per range and caps an IPv6 range at 2^16 addresses. */
const MAX_V6_RANGE = 65536n;

/** The ClusterIPs of one family: kube-apiserver's range (network + 1 onwards; IPv4 without broadcast). */
class ServiceIpRange {
  private readonly base: bigint;
  private readonly usable: bigint;
  private readonly used = new Set<bigint>();
  private next = 0n;

  constructor(
    readonly cidr: Cidr,
    private readonly text: string,
  ) {
    const size = cidr.size;
    this.base = cidr.network.value + 1n;
    this.usable = cidr.family === 4 ? size - 2n : (size < MAX_V6_RANGE ? size : MAX_V6_RANGE) - 1n;
  }

  get family(): IpFamily {
    return this.cidr.family;
  }

  firstIP(): string {
    return formatIp({ family: this.family, value: this.base });
  }

  private offset(ip: Ip): bigint | undefined {
    if (ip.family !== this.family) return undefined;
    const off = ip.value - this.base;
    return off >= 0n && off < this.usable ? off : undefined;
  }

  inRange(ip: Ip): boolean {
    return this.offset(ip) !== undefined;
  }

  allocate(requested?: Ip): string {
    if (requested) {
      const text = formatIp(requested);
      if (!this.inRange(requested))
        throw new AllocationError(
          `failed to allocate IP ${text}: provided IP is not in the valid range. The range of valid IPs is ${this.text}`,
        );
      if (this.used.has(requested.value))
        throw new AllocationError(`failed to allocate IP ${text}: provided IP is already allocated`);
      this.used.add(requested.value);
      return text;
    }
    for (let i = 0n; i < this.usable; i++) {
      const off = (this.next + i) % this.usable;
      const value = this.base + off;
      if (!this.used.has(value)) {
        this.used.add(value);
        this.next = (off + 1n) % this.usable;
        return formatIp({ family: this.family, value });
      }
    }
    throw new AllocationError(`range is full: no ClusterIP left in ${this.text}`);
  }

  release(ip: Ip): void {
    if (ip.family === this.family) this.used.delete(ip.value);
  }

  mark(ip: Ip): void {
    if (this.inRange(ip)) this.used.add(ip.value);
  }

  get size(): number {
    return this.used.size;
  }
}

function parseServiceCidr(text: string): ServiceIpRange {
  let cidr: Cidr;
  try {
    cidr = parseCidr(text);
  } catch {
    throw new AllocationError(`invalid service CIDR "${text}"`);
  }
  // IPv4 keeps skiff's historical bounds; IPv6 follows kube-apiserver (at most 20 host bits).
  const [min, max] = cidr.family === 4 ? [8, 30] : [108, 126];
  if (cidr.prefix < min || cidr.prefix > max)
    throw new AllocationError(`service CIDR ${text} must be between /${min} and /${max}`);
  return new ServiceIpRange(cidr.masked, text);
}

export class Allocator {
  private readonly ranges: ServiceIpRange[];
  private readonly usedPorts = new Set<number>();
  private nextPort: number;

  constructor(
    readonly serviceCIDR: string,
    readonly nodePortRange: { min: number; max: number },
  ) {
    const parts = serviceCIDR.split(',').map((s) => s.trim());
    if (parts.length > 2) throw new AllocationError(`at most two service CIDRs (one per family), not "${serviceCIDR}"`);
    this.ranges = parts.map(parseServiceCidr);
    if (this.ranges.length === 2 && this.ranges[0]!.family === this.ranges[1]!.family)
      throw new AllocationError(`service CIDRs "${serviceCIDR}" must be of different IP families`);
    if (nodePortRange.min < 1 || nodePortRange.max > 65535 || nodePortRange.min > nodePortRange.max) {
      throw new AllocationError(`invalid node port range ${nodePortRange.min}-${nodePortRange.max}`);
    }
    this.nextPort = nodePortRange.min;
  }

  /** The configured families, the primary (first CIDR) first. */
  get families(): IpFamily[] {
    return this.ranges.map((r) => r.family);
  }

  get dualStack(): boolean {
    return this.ranges.length === 2;
  }

  /** The service CIDR of a family, as configured; undefined when the cluster has none of that family. */
  cidrOf(family: IpFamily): string | undefined {
    return this.ranges.find((r) => r.family === family)?.cidr.toString();
  }

  private rangeOf(family: IpFamily): ServiceIpRange | undefined {
    return this.ranges.find((r) => r.family === family);
  }

  /** The first usable address (network + 1) of the primary range: kube-apiserver gives it to "kubernetes". */
  firstIP(family?: IpFamily): string {
    const r = family === undefined ? this.ranges[0]! : this.rangeOf(family);
    if (!r) throw new AllocationError(`no service CIDR of family IPv${family}`);
    return r.firstIP();
  }

  inRange(ip: string): boolean {
    const parsed = tryParseIp(ip);
    return !!parsed && !!this.rangeOf(parsed.family)?.inRange(parsed);
  }

  /**
   * Allocate `requested` (must be free and in its family's range) or the next free address of `family`
   * (default: the primary family).
   */
  allocateIP(requested?: string, family?: IpFamily): string {
    if (requested) {
      const ip = tryParseIp(requested);
      const r = ip && this.rangeOf(ip.family);
      if (!ip || !r)
        throw new AllocationError(
          `failed to allocate IP ${requested}: provided IP is not in the valid range. The range of valid IPs is ${this.serviceCIDR}`,
        );
      return r.allocate(ip);
    }
    const r = family === undefined ? this.ranges[0]! : this.rangeOf(family);
    if (!r) throw new AllocationError(`no service CIDR of family IPv${family} is configured`);
    return r.allocate();
  }

  releaseIP(ip: string | undefined): void {
    const parsed = ip ? tryParseIp(ip) : undefined;
    if (parsed) this.rangeOf(parsed.family)?.release(parsed);
  }

  /** Mark as used without checks (rebuilding from stored Services). */
  markIP(ip: string | undefined): void {
    const parsed = ip ? tryParseIp(ip) : undefined;
    if (parsed) this.rangeOf(parsed.family)?.mark(parsed);
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
    return { ips: this.ranges.reduce((n, r) => n + r.size, 0), ports: this.usedPorts.size };
  }
}
