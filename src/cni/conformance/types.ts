import type { CniRuntime } from '../runtime/runtime.js';
import type { LoadedList } from '../runtime/config.js';
import type { TcQdisc } from '../../os/tc.js';

/**
 * `skiff cni conformance`: a case is one file in cases/ exporting a ConformanceCase, listed once in
 * registry.ts. A case runs against a Harness (throwaway namespaces, the plugin directory under test, the
 * network under test) and returns an outcome; a thrown CaseFailure (or anything else) is a failure.
 */
type CaseStatus = 'pass' | 'fail' | 'n/a';

export interface CaseOutcome {
  status: CaseStatus;
  /** why it failed, or why it does not apply (e.g. "plugin does not support 1.1.0") */
  detail?: string;
  /** the CNI error code the plugin answered, for cases that provoke one */
  code?: number;
  /** a failure recognised as a known departure of the reference plugins (known.ts) */
  known?: string;
}

export interface ConformanceCase {
  id: string;
  title: string;
  run(h: Harness): Promise<CaseOutcome>;
}

/** What a raw plugin call produced: exit status, stdout parsed as JSON when it is, the error code if any. */
export interface RawOutcome {
  exit: number;
  stdout: string;
  stderr: string;
  json?: Record<string, unknown>;
  code?: number;
}

export interface Harness {
  /** CNI_PATH of the plugins under test */
  readonly path: string[];
  /** the network under test (its first plugin is the "main" plugin raw cases call) */
  readonly net: LoadedList;
  /** versions the main plugin reports in VERSION */
  readonly versions: string[];
  /** how many concurrent ADDs the concurrency case makes */
  readonly concurrency: number;
  /** a fresh pod namespace; returns its path */
  pod(tag: string): Promise<string>;
  /** the namespace name behind a pod path (to inspect or delete it) */
  podName(path: string): string;
  /** run one plugin type in the node namespace with these CNI_* variables and this stdin */
  call(type: string, env: Record<string, string>, stdin: string): Promise<RawOutcome>;
  /** the main plugin's own config (list name and version, plugin keys), with overrides */
  mainConf(overrides?: Record<string, unknown>): Record<string, unknown>;
  /** a runtime over the plugins under test, run in the node namespace, with its own result cache */
  runtime(observe?: CallObserver): CniRuntime;
  /** the network at another cniVersion */
  atVersion(version: string): LoadedList;
  /** everything an attachment may leave behind in the node: links, addresses, routes, rules, files */
  snapshot(): Promise<string[]>;
  /** the addresses (CIDR) on a pod's interface, undefined when the interface does not exist */
  podAddrs(path: string, dev: string): Promise<string[] | undefined>;
  podDelAddr(path: string, dev: string, cidr: string): Promise<void>;
  /** the qdiscs of a node link (`tc -j qdisc show`), undefined when the link does not exist */
  nodeQdiscs(dev: string): Promise<TcQdisc[] | undefined>;
}

/** One plugin call a runtime made (for cases that look at what each plugin of a chain got and gave). */
export type CallObserver = (call: { type: string; command: string; stdin: string; stdout: string }) => void;

export class CaseFailure extends Error {}

export function ensure(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new CaseFailure(msg);
}

export const pass = (detail?: string): CaseOutcome => ({ status: 'pass', ...(detail ? { detail } : {}) });
export const notApplicable = (detail: string): CaseOutcome => ({ status: 'n/a', detail });
