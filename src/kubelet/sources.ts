import { ApiClient, isStatus } from './api.js';

/**
 * ConfigMaps and Secrets as the kubelet reads them for one container start: fetched once per start (a
 * cache shared by env and volumes), values as bytes. Missing objects are undefined, never an empty map.
 */
export interface KeyedData {
  kind: 'ConfigMap' | 'Secret';
  name: string;
  data: Map<string, Buffer>;
}

export class ConfigSources {
  private readonly cache = new Map<string, Promise<KeyedData | undefined>>();

  constructor(
    private readonly api: ApiClient,
    private readonly namespace: string,
  ) {}

  namespaceOf(): string {
    return this.namespace;
  }

  configMap(name: string): Promise<KeyedData | undefined> {
    return this.get('ConfigMap', 'configmaps', name);
  }

  secret(name: string): Promise<KeyedData | undefined> {
    return this.get('Secret', 'secrets', name);
  }

  /** A token for the pod's ServiceAccount, bound to the pod (TokenRequest, as the kubelet's token manager). */
  async serviceAccountToken(
    pod: { name: string; uid: string; serviceAccountName: string },
    o: { audience?: string; expirationSeconds: number },
  ): Promise<string> {
    const res = await this.api.request<{ status?: { token?: string } }>(
      'POST',
      `/api/v1/namespaces/${this.namespace}/serviceaccounts/${encodeURIComponent(pod.serviceAccountName)}/token`,
      {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenRequest',
        spec: {
          ...(o.audience ? { audiences: [o.audience] } : {}),
          expirationSeconds: o.expirationSeconds,
          boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: pod.name, uid: pod.uid },
        },
      },
    );
    if (!res.status?.token) throw new Error(`no token in the TokenRequest answer for ${pod.serviceAccountName}`);
    return res.status.token;
  }

  private get(kind: KeyedData['kind'], plural: string, name: string): Promise<KeyedData | undefined> {
    const key = `${plural}/${name}`;
    let p = this.cache.get(key);
    if (!p) {
      p = this.fetch(kind, plural, name);
      this.cache.set(key, p);
    }
    return p;
  }

  private async fetch(kind: KeyedData['kind'], plural: string, name: string): Promise<KeyedData | undefined> {
    let obj: { data?: Record<string, string>; binaryData?: Record<string, string> };
    try {
      obj = await this.api.request('GET', `/api/v1/namespaces/${this.namespace}/${plural}/${encodeURIComponent(name)}`);
    } catch (err) {
      if (isStatus(err, 404)) return undefined;
      throw err;
    }
    const data = new Map<string, Buffer>();
    // Secret data is base64; ConfigMap data is text and binaryData base64
    for (const [k, v] of Object.entries(obj.data ?? {}))
      data.set(k, kind === 'Secret' ? Buffer.from(v, 'base64') : Buffer.from(v, 'utf8'));
    for (const [k, v] of Object.entries(obj.binaryData ?? {})) data.set(k, Buffer.from(v, 'base64'));
    return { kind, name, data };
  }
}

/** A reference the pod cannot run without: the message kubelet shows as CreateContainerConfigError. */
export class ConfigError extends Error {}

export function missing(kind: KeyedData['kind'], name: string): ConfigError {
  return new ConfigError(`${kind.toLowerCase()} "${name}" not found`);
}
