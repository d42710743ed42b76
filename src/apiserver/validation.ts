/** Kubernetes' name, label and value rules (apimachinery/pkg/util/validation), as pure checks. */
import { FieldErrors } from './errors.js';

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const IANA_SVC_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])*$/;

export function dns1123Label(v: string): string | undefined {
  if (v.length > 63) return 'must be no more than 63 characters';
  if (!DNS1123_LABEL.test(v))
    return (
      "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and " +
      "must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex " +
      "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
    );
  return undefined;
}

export function dns1123Subdomain(v: string): string | undefined {
  if (v.length > 253) return 'must be no more than 253 characters';
  if (!DNS1123_SUBDOMAIN.test(v))
    return (
      "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or " +
      "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex " +
      "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
    );
  return undefined;
}

export function dns1035Label(v: string): string | undefined {
  if (v.length > 63) return 'must be no more than 63 characters';
  if (!DNS1035_LABEL.test(v))
    return (
      "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an " +
      "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or " +
      "'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
    );
  return undefined;
}

/** Label and annotation keys: optional DNS subdomain prefix + "/" + name of at most 63 characters. */
export function qualifiedName(v: string): string | undefined {
  const parts = v.split('/');
  let name = v;
  if (parts.length === 2) {
    const [prefix, n] = parts as [string, string];
    if (!prefix) return 'prefix part must be non-empty';
    const p = dns1123Subdomain(prefix);
    if (p) return `prefix part ${p}`;
    name = n;
  } else if (parts.length > 2) {
    return (
      "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start " +
      "and end with an alphanumeric character, with an optional DNS subdomain prefix and '/' " +
      "(e.g. 'example.com/MyName')"
    );
  }
  if (!name) return 'name part must be non-empty';
  if (name.length > 63) return 'name part must be no more than 63 characters';
  if (!QUALIFIED_NAME.test(name))
    return (
      "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and " +
      "end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex " +
      "used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
    );
  return undefined;
}

export function labelValue(v: string): string | undefined {
  if (v.length > 63) return 'must be no more than 63 characters';
  if (!LABEL_VALUE.test(v))
    return (
      "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or " +
      "'.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or " +
      "'my_value',  or '12345', regex used for validation is " +
      "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
    );
  return undefined;
}

export function ianaSvcName(v: string): string | undefined {
  if (v.length > 15) return 'must be no more than 15 characters';
  if (!IANA_SVC_NAME.test(v)) return 'must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)';
  if (!/[a-z]/.test(v)) return 'must contain at least one letter (a-z)';
  if (v.includes('--')) return 'must not contain consecutive hyphens';
  return undefined;
}

export function validateLabels(errs: FieldErrors, path: string, labels: unknown): void {
  if (labels === undefined || labels === null) return;
  if (typeof labels !== 'object' || Array.isArray(labels))
    return errs.invalid(path, labels, 'must be a map of strings');
  for (const [k, v] of Object.entries(labels as Record<string, unknown>)) {
    const ke = qualifiedName(k);
    if (ke) errs.invalid(path, k, ke);
    if (typeof v !== 'string') errs.invalid(`${path}[${k}]`, v, 'must be a string');
    else {
      const ve = labelValue(v);
      if (ve) errs.invalid(`${path}[${k}]`, v, ve);
    }
  }
}

export function validateAnnotations(errs: FieldErrors, path: string, ann: unknown): void {
  if (ann === undefined || ann === null) return;
  if (typeof ann !== 'object' || Array.isArray(ann)) return errs.invalid(path, ann, 'must be a map of strings');
  let total = 0;
  for (const [k, v] of Object.entries(ann as Record<string, unknown>)) {
    const ke = qualifiedName(k.toLowerCase());
    if (ke) errs.invalid(path, k, ke);
    if (typeof v !== 'string') errs.invalid(`${path}[${k}]`, v, 'must be a string');
    else total += k.length + v.length;
  }
  if (total > 256 * 1024)
    errs.causes.push({
      reason: 'FieldValueTooLong',
      message: `Too long: must have at most ${256 * 1024} bytes`,
      field: path,
    });
}

export function validatePort(errs: FieldErrors, path: string, v: unknown, required = true): void {
  if (v === undefined || v === null) {
    if (required) errs.required(path);
    return;
  }
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 65535)
    errs.invalid(path, v, 'must be between 1 and 65535, inclusive');
}

export function validateProtocol(errs: FieldErrors, path: string, v: unknown): void {
  if (v === undefined) return;
  if (v !== 'TCP' && v !== 'UDP' && v !== 'SCTP') errs.notSupported(path, v, ['SCTP', 'TCP', 'UDP']);
}
