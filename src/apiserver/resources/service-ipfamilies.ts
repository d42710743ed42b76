/**
 * A Service's IP-family fields (spec.clusterIP, clusterIPs, ipFamilies, ipFamilyPolicy) with kube-apiserver's
 * semantics: how clusterIP and clusterIPs are kept in step (NormalizeClusterIPs, patchAllocatedValues), what
 * is valid (ValidateServiceClusterIPsRelatedFields and the upgrade/downgrade checks), how the families are
 * defaulted from the cluster's service CIDRs (initIPFamilyFields) and which ClusterIPs are allocated or
 * released on create and update (allocClusterIPs, updateClusterIPs). Kubernetes 1.33, pkg/registry/core/
 * service/storage/alloc.go and pkg/apis/core/validation/validation.go.
 */
import { familyName, ipFamilyOf, isIp, type IpFamilyName } from '../../net/ip.js';
import type { Allocator } from '../alloc.js';
import { FieldErrors } from '../errors.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Spec = any;

const FAMILIES: IpFamilyName[] = ['IPv4', 'IPv6'];
const POLICIES = ['PreferDualStack', 'RequireDualStack', 'SingleStack'];

const isExternalName = (s: Spec) => s?.type === 'ExternalName';
const ipsOf = (s: Spec): string[] => (Array.isArray(s?.clusterIPs) ? s.clusterIPs : []);
const familiesOf = (s: Spec): string[] => (Array.isArray(s?.ipFamilies) ? s.ipFamilies : []);
const isHeadless = (s: Spec) => ipsOf(s).length === 1 && ipsOf(s)[0] === 'None';
const sameList = (a: string[], b: string[]) => a.length === b.length && a.every((v, i) => v === b[i]);
const hasSelector = (s: Spec) => !!s?.selector && Object.keys(s.selector).length > 0;

/** Create: a client that only sets clusterIP (an old client) gets clusterIPs from it. */
export function normalizeClusterIPsOnCreate(spec: Spec): void {
  if (spec.clusterIP && ipsOf(spec).length === 0) spec.clusterIPs = [spec.clusterIP];
}

/** Update: keep what was allocated when the client left it out, then keep clusterIP and clusterIPs in step. */
export function normalizeClusterIPsOnUpdate(spec: Spec, prev: Spec): void {
  // patchAllocatedValues
  if (!isExternalName(prev) && !isExternalName(spec)) {
    if (!spec.clusterIP && prev.clusterIP) spec.clusterIP = prev.clusterIP;
    if (ipsOf(spec).length === 0 && ipsOf(prev).length > 0) spec.clusterIPs = [...ipsOf(prev)];
  }
  // NormalizeClusterIPs
  if (ipsOf(prev).length > 0 && ipsOf(spec).length === 0 && prev.clusterIP === spec.clusterIP)
    spec.clusterIPs = [...ipsOf(prev)];
  if ((prev.clusterIP ?? '') !== (spec.clusterIP ?? '')) {
    const same = sameList(ipsOf(prev), ipsOf(spec));
    if (prev.clusterIP && !spec.clusterIP && same) delete spec.clusterIPs;
    if (spec.clusterIP && same) spec.clusterIPs = [spec.clusterIP];
  }
}

/** ValidateService's IP-family part, and on update the upgrade/downgrade rules. */
export function validateIpFamilyFields(spec: Spec, errs: FieldErrors, prev?: Spec): void {
  if (isExternalName(spec)) {
    if (ipsOf(spec).length) errs.forbidden('spec.clusterIPs', 'may not be set for ExternalName services');
    if (spec.ipFamilyPolicy !== undefined && spec.ipFamilyPolicy !== null)
      errs.forbidden('spec.ipFamilyPolicy', 'may not be set for ExternalName services');
    if (familiesOf(spec).length) errs.forbidden('spec.ipFamilies', 'may not be set for ExternalName services');
    return;
  }
  validateClusterIPsRelatedFields(spec, errs);
  if (prev && !isExternalName(prev)) validateUpgradeDowngrade(prev, spec, errs);
}

function validateClusterIPsRelatedFields(spec: Spec, errs: FieldErrors): void {
  const ips = ipsOf(spec);
  if (spec.clusterIP) {
    if (ips.length === 0) errs.required('spec.clusterIPs');
    else if (ips[0] !== spec.clusterIP) errs.invalid('spec.clusterIPs', ips, 'first value must match `clusterIP`');
  } else if (ips.length) {
    errs.invalid('spec.clusterIPs', ips, 'must be empty when `clusterIP` is not specified');
  }
  const seen = new Set<string>();
  familiesOf(spec).forEach((f, i) => {
    if (!FAMILIES.includes(f as IpFamilyName)) errs.notSupported(`spec.ipFamilies[${i}]`, f, FAMILIES);
    if (seen.has(f)) errs.duplicate(`spec.ipFamilies[${i}]`, f);
    seen.add(f);
  });
  if (spec.ipFamilyPolicy !== undefined && spec.ipFamilyPolicy !== null && !POLICIES.includes(spec.ipFamilyPolicy))
    errs.notSupported('spec.ipFamilyPolicy', spec.ipFamilyPolicy, POLICIES);
  let badIPs = false;
  ips.forEach((ip, i) => {
    if (i === 0 && ip === 'None') {
      if (ips.length > 1) {
        badIPs = true;
        errs.invalid('spec.clusterIPs', ips, "'None' must be the first and only value");
      }
      return;
    }
    if (!isIp(ip)) {
      badIPs = true;
      errs.invalid(`spec.clusterIPs[${i}]`, ip, 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)');
    }
  });
  if (ips.length > 2) errs.invalid('spec.clusterIPs', ips, 'may only hold up to 2 values');
  if (badIPs) return;
  if (ips.length === 2 && ipFamilyOf(ips[0]) === ipFamilyOf(ips[1]))
    errs.invalid('spec.clusterIPs', ips, 'may specify no more than one IP for each IP family');
  if (!isHeadless(spec)) {
    ips.forEach((ip, i) => {
      const want = familiesOf(spec)[i];
      if (want === 'IPv4' && ipFamilyOf(ip) === 6)
        errs.invalid(`spec.clusterIPs[${i}]`, ip, `expected an IPv4 value as indicated by \`ipFamilies[${i}]\``);
      if (want === 'IPv6' && ipFamilyOf(ip) !== 6)
        errs.invalid(`spec.clusterIPs[${i}]`, ip, `expected an IPv6 value as indicated by \`ipFamilies[${i}]\``);
    });
  }
}

function validateUpgradeDowngrade(prev: Spec, spec: Spec, errs: FieldErrors): void {
  const singleStack = spec.ipFamilyPolicy === 'SingleStack';
  if (!(isHeadless(prev) && isHeadless(spec))) {
    const [o, n] = [ipsOf(prev), ipsOf(spec)];
    if (o.length === n.length) {
      o.forEach((ip, i) => {
        if (ip !== n[i]) errs.invalid(`spec.clusterIPs[${i}]`, n, 'may not change once set');
      });
    } else if (o.length > n.length) {
      if (n.length === 0) errs.invalid('spec.clusterIPs[0]', n, 'primary clusterIP can not be unset');
      if (o.length && n.length && n[0] !== o[0]) errs.invalid('spec.clusterIPs[0]', n, 'may not change once set');
      if (n.length === 1 && !singleStack)
        errs.invalid(
          'spec.ipFamilyPolicy',
          spec.ipFamilyPolicy ?? null,
          "must be set to 'SingleStack' when releasing the secondary clusterIP",
        );
    } else if (o.length && n[0] !== o[0]) {
      errs.invalid('spec.clusterIPs[0]', n, 'may not change once set');
    }
  }
  if (isHeadless(prev) !== isHeadless(spec) || isHeadless(spec)) return;
  const [o, n] = [familiesOf(prev), familiesOf(spec)];
  if (o.length === n.length) {
    if (o.some((f, i) => f !== n[i])) errs.invalid('spec.ipFamilies[0]', n, 'may not change once set');
  } else if (o.length > n.length) {
    if (ipsOf(spec).length === 0) errs.invalid('spec.ipFamilies[0]', n, 'primary ipFamily can not be unset');
    if (n.length && n[0] !== o[0]) errs.invalid('spec.ipFamilies[0]', ipsOf(spec), 'may not change once set');
    if (n.length === 1 && !singleStack)
      errs.invalid(
        'spec.ipFamilyPolicy',
        spec.ipFamilyPolicy ?? null,
        "must be set to 'SingleStack' when releasing the secondary ipFamily",
      );
  } else if (o.length && n.length && n[0] !== o[0]) {
    errs.invalid('spec.ipFamilies[0]', ipsOf(spec), 'may not change once set');
  }
}

/** A PreferDualStack Service whose IPs and families did not change is left alone when the cluster changes. */
function isUnchangedPreferDualStack(spec: Spec, prev?: Spec): boolean {
  return (
    !!prev &&
    sameList(ipsOf(prev), ipsOf(spec)) &&
    sameList(familiesOf(prev), familiesOf(spec)) &&
    prev.ipFamilyPolicy === 'PreferDualStack' &&
    (spec.ipFamilyPolicy ?? prev.ipFamilyPolicy) === 'PreferDualStack'
  );
}

/**
 * initIPFamilyFields: default ipFamilyPolicy and ipFamilies from the request, the old object and the
 * cluster's service CIDRs, checking that what is asked for is configured. Errors go to `errs`.
 */
export function initIpFamilies(spec: Spec, prev: Spec | undefined, alloc: Allocator, errs: FieldErrors): void {
  if (isExternalName(spec) || isUnchangedPreferDualStack(spec, prev)) return;
  const configured = alloc.families.map(familyName);
  const primary = configured[0]!;
  if (spec.ipFamilyPolicy === undefined || spec.ipFamilyPolicy === null) {
    if (prev?.ipFamilyPolicy) spec.ipFamilyPolicy = prev.ipFamilyPolicy;
    else if (spec.clusterIP === 'None' && !hasSelector(spec)) spec.ipFamilyPolicy = 'RequireDualStack';
    else spec.ipFamilyPolicy = 'SingleStack';
  }
  const before = errs.causes.length;
  if (prev) {
    if (spec.ipFamilyPolicy === 'SingleStack') {
      if (sameList(ipsOf(prev), ipsOf(spec)) && ipsOf(spec).length > 1) spec.clusterIPs = ipsOf(spec).slice(0, 1);
      if (sameList(familiesOf(prev), familiesOf(spec)) && familiesOf(spec).length > 1)
        spec.ipFamilies = familiesOf(spec).slice(0, 1);
    } else {
      if (ipsOf(spec).length < ipsOf(prev).length)
        errs.invalid(
          'spec.ipFamilyPolicy',
          spec.ipFamilyPolicy,
          "must be 'SingleStack' to release the secondary cluster IP",
        );
      if (familiesOf(spec).length < familiesOf(prev).length)
        errs.invalid(
          'spec.ipFamilyPolicy',
          spec.ipFamilyPolicy,
          "must be 'SingleStack' to release the secondary IP family",
        );
    }
  }
  if (spec.ipFamilyPolicy === 'SingleStack') {
    if (ipsOf(spec).length === 2)
      errs.invalid(
        'spec.ipFamilyPolicy',
        spec.ipFamilyPolicy,
        "must be 'RequireDualStack' or 'PreferDualStack' when multiple cluster IPs are specified",
      );
    if (familiesOf(spec).length === 2)
      errs.invalid(
        'spec.ipFamilyPolicy',
        spec.ipFamilyPolicy,
        "must be 'RequireDualStack' or 'PreferDualStack' when multiple IP families are specified",
      );
  }
  // Infer ipFamilies from the clusterIPs given.
  const ips = ipsOf(spec);
  for (let i = 0; i < ips.length && ips[i] !== 'None'; i++) {
    const fam = familyName(ipFamilyOf(ips[i]) ?? 4);
    if (i >= familiesOf(spec).length) {
      if (!configured.includes(fam))
        errs.invalid(`spec.clusterIPs[${i}]`, ips, `${fam} is not configured on this cluster`);
      else spec.ipFamilies = [...familiesOf(spec), fam];
    }
  }
  if (errs.causes.length > before) return;

  // Headless and selectorless: any families, even on a single-stack cluster.
  if (spec.clusterIP === 'None' && !hasSelector(spec)) {
    if (familiesOf(spec).length === 0) spec.ipFamilies = [primary];
    if (familiesOf(spec).length < 2 && spec.ipFamilyPolicy !== 'SingleStack')
      spec.ipFamilies = [...familiesOf(spec), familiesOf(spec)[0] === 'IPv4' ? 'IPv6' : 'IPv4'];
    return;
  }
  if (spec.ipFamilyPolicy === 'RequireDualStack' && configured.length < 2)
    errs.invalid('spec.ipFamilyPolicy', spec.ipFamilyPolicy, 'this cluster is not configured for dual-stack services');
  familiesOf(spec).forEach((f, i) => {
    if (!configured.includes(f as IpFamilyName))
      errs.invalid(`spec.ipFamilies[${i}]`, f, 'not configured on this cluster');
  });
  if (errs.causes.length > before) return;
  if (familiesOf(spec).length === 0) spec.ipFamilies = [primary];
  if (spec.ipFamilyPolicy !== 'SingleStack' && familiesOf(spec).length === 1 && configured.length === 2)
    spec.ipFamilies = [...familiesOf(spec), familiesOf(spec)[0] === 'IPv4' ? 'IPv6' : 'IPv4'];
}

/**
 * allocClusterIPs / updateClusterIPs: the indexes of ipFamilies that need an address now (the entry of
 * clusterIPs at that index, when set, is the address asked for). What an update gives up is whatever the
 * old object held that the new one does not (see realIPs).
 */
export function familiesToAllocate(spec: Spec, prev?: Spec): number[] {
  if (isExternalName(spec) || isHeadless(spec)) return [];
  if (!prev || isExternalName(prev)) return familiesOf(spec).map((_, i) => i);
  if (isUnchangedPreferDualStack(spec, prev) || isHeadless(prev)) return [];
  return familiesOf(prev).length === 1 && familiesOf(spec).length === 2 ? [1] : [];
}

/** The allocated addresses a Service holds (not "None"). */
export function realIPs(spec: Spec): string[] {
  const ips = ipsOf(spec).length ? ipsOf(spec) : spec?.clusterIP ? [spec.clusterIP] : [];
  return ips.filter((ip: string) => ip && ip !== 'None');
}
