/** core/v1 Secret: data (base64) and the write-only stringData, type-specific required keys, immutability. */
import type { KObject } from '../../api/meta.js';
import { T } from '../../api/core-v1.js';
import { ageColumn, humanAge, nameColumn, type ResourceDef } from './types.js';
import { CONFIG_KEY, CONFIG_KEY_MESSAGE, MAX_CONFIG_DATA_BYTES } from './core.js';

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Keys each built-in type requires in data (Kubernetes' ValidateSecret). */
const REQUIRED_KEYS: Record<string, string[]> = {
  'kubernetes.io/tls': ['tls.crt', 'tls.key'],
  'kubernetes.io/dockerconfigjson': ['.dockerconfigjson'],
  'kubernetes.io/dockercfg': ['.dockercfg'],
  'kubernetes.io/ssh-auth': ['ssh-privatekey'],
};

const dataOf = (o: KObject): Record<string, unknown> => (o.data as Record<string, unknown> | undefined) ?? {};

function decodedBytes(o: KObject): number {
  let n = 0;
  for (const v of Object.values(dataOf(o))) if (typeof v === 'string') n += Buffer.from(v, 'base64').length;
  return n;
}

export const secrets: ResourceDef = {
  group: '',
  version: 'v1',
  kind: 'Secret',
  plural: 'secrets',
  singular: 'secret',
  shortNames: [],
  namespaced: true,
  typeName: T.Secret,
  statusSubresource: false,
  resetStatusOnCreate: false,
  specFields: [],
  fields: (o) => ({ type: String(o.type ?? 'Opaque') }),
  defaults(o) {
    o.type ??= 'Opaque';
    // stringData is write-only: merged over data (it wins, as in Kubernetes), never stored
    const sd = o.stringData as Record<string, unknown> | undefined;
    if (sd && typeof sd === 'object') {
      const data = { ...dataOf(o) };
      for (const [k, v] of Object.entries(sd)) data[k] = Buffer.from(String(v), 'utf8').toString('base64');
      o.data = data;
    }
    delete o.stringData;
  },
  validate(o, errs, old) {
    for (const [k, v] of Object.entries(dataOf(o))) {
      if (!CONFIG_KEY.test(k) || k.length > 253) errs.invalid(`data[${k}]`, k, CONFIG_KEY_MESSAGE);
      if (typeof v !== 'string' || !BASE64.test(v))
        errs.invalid(`data[${k}]`, '<secret contents redacted>', 'must be base64-encoded');
    }
    if (decodedBytes(o) > MAX_CONFIG_DATA_BYTES) errs.tooLong('data', MAX_CONFIG_DATA_BYTES);
    const type = String(o.type);
    for (const key of REQUIRED_KEYS[type] ?? []) if (!(key in dataOf(o))) errs.required(`data[${key}]`);
    if (type === 'kubernetes.io/basic-auth' && !('username' in dataOf(o)) && !('password' in dataOf(o)))
      errs.required('data[username]');
    if (
      type === 'kubernetes.io/service-account-token' &&
      !o.metadata.annotations?.['kubernetes.io/service-account.name']
    )
      errs.required('metadata.annotations[kubernetes.io/service-account.name]');
    if (old) {
      if (String(old.type ?? 'Opaque') !== type) errs.invalid('type', type, 'field is immutable');
      if (old.immutable === true) {
        const same = JSON.stringify(old.data ?? {}) === JSON.stringify(o.data ?? {}) && o.immutable === true;
        if (!same) errs.forbidden('data', 'field is immutable when `immutable` is set');
      }
    }
  },
  table: {
    columns: [
      nameColumn,
      { name: 'Type', type: 'string', description: 'The type of the secret', priority: 0 },
      { name: 'Data', type: 'integer', description: 'The number of keys in the secret', priority: 0 },
      ageColumn,
    ],
    cells: (o, now) => [
      o.metadata.name,
      String(o.type ?? 'Opaque'),
      Object.keys(dataOf(o)).length,
      humanAge(o.metadata.creationTimestamp, now),
    ],
  },
};
