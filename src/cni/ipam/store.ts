import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { withFileLock } from '../../os/flock.js';
import { CniCode, CniError } from '../errors.js';

/**
 * host-local's disk store, in the reference plugin's format so its tools (and the reference plugin itself)
 * read the same state: <dataDir>/<network>/<ip> containing "<containerID>\r\n<ifname>",
 * last_reserved_ip.<rangeSetIndex> containing the last address handed out, and a `lock` file flocked around
 * every read-modify-write.
 */
const LINE_BREAK = '\r\n';
const LOCK = 'lock';
const LAST_PREFIX = 'last_reserved_ip.';

export interface Allocation {
  ip: string;
  containerId: string;
  ifname: string;
}

export class DiskStore {
  readonly dir: string;

  constructor(dataDir: string, network: string) {
    if (!network || network.includes('/') || network === '.' || network === '..') {
      throw new CniError(CniCode.InvalidNetworkConfig, `invalid network name ${JSON.stringify(network)}`);
    }
    this.dir = join(dataDir, network);
  }

  async withLock<T>(fn: () => Promise<T> | T): Promise<T> {
    try {
      mkdirSync(this.dir, { recursive: true, mode: 0o755 });
    } catch (e) {
      throw new CniError(CniCode.IoFailure, `cannot create ${this.dir}: ${(e as Error).message}`);
    }
    return withFileLock(join(this.dir, LOCK), fn);
  }

  private entries(): string[] {
    try {
      return readdirSync(this.dir).filter((f) => f !== LOCK && !f.startsWith(LAST_PREFIX) && !f.startsWith('.'));
    } catch {
      return [];
    }
  }

  /** Addresses currently allocated (file names). */
  inUse(): Set<string> {
    return new Set(this.entries());
  }

  /** Create the address file; false when it already exists (someone else holds it). */
  reserve(ip: string, containerId: string, ifname: string, rangeSetIndex: number): boolean {
    let fd: number;
    try {
      fd = openSync(join(this.dir, ip), 'wx', 0o644);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw new CniError(CniCode.IoFailure, `cannot write ${join(this.dir, ip)}: ${(e as Error).message}`);
    }
    try {
      writeSync(fd, `${containerId.trim()}${LINE_BREAK}${ifname}`);
    } finally {
      closeSync(fd);
    }
    writeFileSync(join(this.dir, `${LAST_PREFIX}${rangeSetIndex}`), ip);
    return true;
  }

  lastReserved(rangeSetIndex: number): string | undefined {
    try {
      return readFileSync(join(this.dir, `${LAST_PREFIX}${rangeSetIndex}`), 'utf8').trim() || undefined;
    } catch {
      return undefined;
    }
  }

  list(): Allocation[] {
    const out: Allocation[] = [];
    for (const ip of this.entries()) {
      let text: string;
      try {
        text = readFileSync(join(this.dir, ip), 'utf8');
      } catch {
        continue;
      }
      // Files written by very old reference versions hold only the container ID.
      const [containerId = '', ifname = ''] = text.trim().split(LINE_BREAK);
      out.push({ ip, containerId: containerId.trim(), ifname: ifname.trim() });
    }
    return out;
  }

  byId(containerId: string, ifname: string): Allocation[] {
    return this.list().filter((a) => a.containerId === containerId && a.ifname === ifname);
  }

  release(ip: string): void {
    rmSync(join(this.dir, ip), { force: true });
  }

  /** Release everything held by containerId+ifname; returns the addresses freed. */
  releaseById(containerId: string, ifname: string): string[] {
    const mine = this.byId(containerId, ifname);
    for (const a of mine) this.release(a.ip);
    return mine.map((a) => a.ip);
  }
}
