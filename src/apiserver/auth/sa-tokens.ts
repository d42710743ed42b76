/**
 * ServiceAccount tokens as kube-apiserver issues them for TokenRequest: RS256 JWTs signed with the server's
 * service-account key (DIR/pki/sa.key, made once), bound to the ServiceAccount's uid and optionally to a pod's,
 * expiring (default 1 h, at least 10 min, at most 48 h). A token authenticates only while it has not expired
 * and the objects it is bound to still exist with the same uid.
 */
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomUUID,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from './kubeconfig.js';
import type { UserInfo } from './tokens.js';

export const ISSUER = 'https://kubernetes.default.svc.cluster.local';
export const DEFAULT_EXPIRATION_SECONDS = 3600;
export const MIN_EXPIRATION_SECONDS = 600;
export const MAX_EXPIRATION_SECONDS = 48 * 3600;

export interface TokenClaims {
  iss: string;
  sub: string;
  aud: string[];
  exp: number;
  iat: number;
  nbf: number;
  jti: string;
  'kubernetes.io': {
    namespace: string;
    serviceaccount: { name: string; uid: string };
    pod?: { name: string; uid: string };
  };
}

const b64 = (v: Buffer | string) => Buffer.from(v).toString('base64url');

export class ServiceAccountTokens {
  private readonly key: KeyObject;
  private readonly pub: KeyObject;

  constructor(stateDir: string) {
    const dir = join(stateDir, 'pki');
    const keyPath = join(dir, 'sa.key');
    if (!existsSync(keyPath)) {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      writeFileAtomic(keyPath, privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
    }
    this.key = createPrivateKey(readFileSync(keyPath));
    this.pub = createPublicKey(this.key);
  }

  issue(o: {
    namespace: string;
    serviceAccount: { name: string; uid: string };
    pod?: { name: string; uid: string };
    audiences: string[];
    expirationSeconds: number;
    now?: number;
  }): { token: string; claims: TokenClaims } {
    const iat = Math.floor((o.now ?? Date.now()) / 1000);
    const claims: TokenClaims = {
      iss: ISSUER,
      sub: `system:serviceaccount:${o.namespace}:${o.serviceAccount.name}`,
      aud: o.audiences,
      exp: iat + o.expirationSeconds,
      iat,
      nbf: iat,
      jti: randomUUID(),
      'kubernetes.io': {
        namespace: o.namespace,
        serviceaccount: o.serviceAccount,
        ...(o.pod ? { pod: o.pod } : {}),
      },
    };
    const head = b64(JSON.stringify({ alg: 'RS256', typ: 'JWT' }));
    const body = b64(JSON.stringify(claims));
    const sig = sign('sha256', Buffer.from(`${head}.${body}`), this.key);
    return { token: `${head}.${body}.${b64(sig)}`, claims };
  }

  /** The claims of a token this server signed, not expired and meant for `audience`; else undefined. */
  verify(token: string, audience = ISSUER, now = Date.now()): TokenClaims | undefined {
    const parts = token.split('.');
    if (parts.length !== 3) return undefined;
    const [head, body, sig] = parts as [string, string, string];
    try {
      const h = JSON.parse(Buffer.from(head, 'base64url').toString()) as { alg?: string };
      if (h.alg !== 'RS256') return undefined;
      if (!verify('sha256', Buffer.from(`${head}.${body}`), this.pub, Buffer.from(sig, 'base64url'))) return undefined;
      const c = JSON.parse(Buffer.from(body, 'base64url').toString()) as TokenClaims;
      const t = Math.floor(now / 1000);
      if (c.iss !== ISSUER || typeof c.exp !== 'number' || c.exp <= t || (c.nbf ?? 0) > t + 60) return undefined;
      if (!Array.isArray(c.aud) || !c.aud.includes(audience)) return undefined;
      if (!c['kubernetes.io']?.serviceaccount?.name) return undefined;
      return c;
    } catch {
      return undefined;
    }
  }
}

/** The user a ServiceAccount token stands for (kube-apiserver's serviceaccount.UserInfo). */
export function serviceAccountUser(c: TokenClaims): UserInfo {
  const ns = c['kubernetes.io'].namespace;
  return {
    name: `system:serviceaccount:${ns}:${c['kubernetes.io'].serviceaccount.name}`,
    groups: ['system:serviceaccounts', `system:serviceaccounts:${ns}`, 'system:authenticated'],
  };
}
