/** Host and path rules shared by Ingress and the Gateway API (networking validation, gateway-api CRD rules). */
import { isIP } from 'node:net';
import type { FieldErrors } from '../errors.js';
import { dns1123Subdomain } from '../validation.js';

const WILDCARD_DNS1123 = /^\*\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const INVALID_PATH_SEQUENCES = ['//', '/./', '/../', '%2f', '%2F'];
const INVALID_PATH_SUFFIXES = ['/..', '/.'];

/** A rule host: a DNS name (never an IP), "*.example.com" allowed as a single leading wildcard label. */
export function validateHost(errs: FieldErrors, path: string, host: string): void {
  if (isIP(host)) errs.invalid(path, host, 'must be a DNS name, not an IP address');
  if (host.includes('*')) {
    if (!WILDCARD_DNS1123.test(host) || host.length > 253)
      errs.invalid(
        path,
        host,
        "a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain, " +
          "which must consist of lower case alphanumeric characters, '-' or '.' and end with an " +
          "alphanumeric character (e.g. '*.example.com', regex used for validation is " +
          "'\\*\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
      );
    return;
  }
  const e = dns1123Subdomain(host);
  if (e) errs.invalid(path, host, e);
}

/** An Exact or Prefix path: absolute, with no "//", "/./", "/../" or encoded slash, not ending in "/." or "/..". */
export function validateHTTPPath(errs: FieldErrors, field: string, path: string): void {
  if (!path.startsWith('/')) errs.invalid(field, path, 'must be an absolute path');
  if (!path) return;
  for (const s of INVALID_PATH_SEQUENCES) if (path.includes(s)) errs.invalid(field, path, `must not contain '${s}'`);
  for (const s of INVALID_PATH_SUFFIXES) if (path.endsWith(s)) errs.invalid(field, path, `cannot end with '${s}'`);
}

/** A domain-prefixed path such as "k8s.io/ingress-nginx" (IngressClass controller, GatewayClass controllerName). */
export function validateDomainPrefixedPath(errs: FieldErrors, field: string, v: string): void {
  const slash = v.indexOf('/');
  if (slash <= 0) return errs.invalid(field, v, 'must be a domain-prefixed path (such as "acme.io/foo")');
  const e = dns1123Subdomain(v.slice(0, slash));
  if (e) errs.invalid(field, v.slice(0, slash), e);
  if (!/^\/[A-Za-z0-9/\-._~%!$&'()*+,;=:]+$/.test(v.slice(slash)))
    errs.invalid(field, v.slice(slash), 'Invalid path: must be a valid HTTP path');
}
