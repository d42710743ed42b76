/**
 * The cluster CA and the API server's serving certificate, generated on first start into DIR/pki/ and kept.
 * Keys come from Node's crypto (fast, native); node-forge builds and signs the X.509 certificates. The
 * serving certificate is re-issued when an address it must cover is missing or it is close to expiry.
 */
import { generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import forge from 'node-forge';
import { privateDir, tightenIfPresent } from '../../util/private.js';
import { KUBELET_CLIENT_CN } from '../../api/well-known.js';

export interface Pki {
  caCertPem: string;
  certPem: string;
  keyPem: string;
  dir: string;
}

function newKey(): { privatePem: string; publicPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  });
  return { privatePem: privateKey, publicPem: publicKey };
}

function serial(): string {
  // Positive serial: clear the top bit.
  const b = randomBytes(16);
  b[0] = b[0]! & 0x7f;
  return b.toString('hex');
}

function issue(opts: {
  subjectCN: string;
  publicPem: string;
  signerKeyPem: string;
  issuer?: forge.pki.Certificate;
  ca: boolean;
  days: number;
  dns?: string[];
  ips?: string[];
  /** subject O= values (Kubernetes reads them as the client's groups) */
  organizations?: string[];
  /** extended key usage of a leaf certificate (default: server) */
  usage?: 'server' | 'client';
}): string {
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(opts.publicPem);
  cert.serialNumber = serial();
  const now = new Date(Date.now() - 5 * 60_000);
  cert.validity.notBefore = now;
  cert.validity.notAfter = new Date(now.getTime() + opts.days * 86_400_000);
  const subject = [
    ...(opts.organizations ?? []).map((value) => ({ name: 'organizationName', value })),
    { name: 'commonName', value: opts.subjectCN },
  ];
  cert.setSubject(subject);
  cert.setIssuer(opts.issuer ? opts.issuer.subject.attributes : subject);
  const ext: unknown[] = [
    { name: 'basicConstraints', cA: opts.ca, critical: true },
    opts.ca
      ? { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true }
      : { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ];
  if (!opts.ca) {
    if (opts.usage === 'client') ext.push({ name: 'extKeyUsage', clientAuth: true });
    else {
      ext.push({ name: 'extKeyUsage', serverAuth: true });
      ext.push({
        name: 'subjectAltName',
        altNames: [
          ...(opts.dns ?? []).map((value) => ({ type: 2, value })),
          ...(opts.ips ?? []).map((ip) => ({ type: 7, ip })),
        ],
      });
    }
  }
  cert.setExtensions(ext as never[]);
  cert.sign(forge.pki.privateKeyFromPem(opts.signerKeyPem), forge.md.sha256.create());
  return forge.pki.certificateToPem(cert);
}

function covers(certPem: string, dns: string[], ips: string[]): boolean {
  try {
    const x = new X509Certificate(certPem);
    if (Date.parse(x.validTo) - Date.now() < 30 * 86_400_000) return false;
    const san = x.subjectAltName ?? '';
    return dns.every((d) => san.includes(`DNS:${d}`)) && ips.every((ip) => san.includes(`IP Address:${ip}`));
  } catch {
    return false;
  }
}

export function ensurePki(stateDir: string, sans: { dns: string[]; ips: string[] }): Pki {
  const dir = join(stateDir, 'pki');
  privateDir(dir);
  const caCrt = join(dir, 'ca.crt');
  const caKey = join(dir, 'ca.key');
  if (!existsSync(caCrt) || !existsSync(caKey)) {
    const k = newKey();
    const pem = issue({
      subjectCN: 'skiff-ca',
      publicPem: k.publicPem,
      signerKeyPem: k.privatePem,
      ca: true,
      days: 3650,
    });
    writeFileSync(caKey, k.privatePem, { mode: 0o600 });
    writeFileSync(caCrt, pem, { mode: 0o644 });
  }
  const caCertPem = readFileSync(caCrt, 'utf8');
  const caKeyPem = readFileSync(caKey, 'utf8');
  const crt = join(dir, 'apiserver.crt');
  const key = join(dir, 'apiserver.key');
  if (!existsSync(crt) || !existsSync(key) || !covers(readFileSync(crt, 'utf8'), sans.dns, sans.ips)) {
    const k = newKey();
    const pem = issue({
      subjectCN: 'kube-apiserver',
      publicPem: k.publicPem,
      signerKeyPem: caKeyPem,
      issuer: forge.pki.certificateFromPem(caCertPem),
      ca: false,
      days: 365,
      dns: sans.dns,
      ips: sans.ips,
    });
    writeFileSync(key, k.privatePem, { mode: 0o600 });
    writeFileSync(crt, pem, { mode: 0o644 });
  }
  tightenIfPresent(caKey, key); // a rewrite keeps an older file's mode
  ensureKubeletClientCert(dir, caCertPem, caKeyPem);
  return { caCertPem, certPem: readFileSync(crt, 'utf8'), keyPem: readFileSync(key, 'utf8'), dir };
}

export function kubeletClientFiles(stateDir: string): { cert: string; key: string; ca: string } {
  const dir = join(stateDir, 'pki');
  return {
    cert: join(dir, 'apiserver-kubelet-client.crt'),
    key: join(dir, 'apiserver-kubelet-client.key'),
    ca: join(dir, 'ca.crt'),
  };
}

function ensureKubeletClientCert(dir: string, caCertPem: string, caKeyPem: string): void {
  const crt = join(dir, 'apiserver-kubelet-client.crt');
  const key = join(dir, 'apiserver-kubelet-client.key');
  if (existsSync(crt) && existsSync(key) && covers(readFileSync(crt, 'utf8'), [], [])) return;
  const k = newKey();
  const pem = issue({
    subjectCN: KUBELET_CLIENT_CN,
    organizations: ['system:masters'],
    usage: 'client',
    publicPem: k.publicPem,
    signerKeyPem: caKeyPem,
    issuer: forge.pki.certificateFromPem(caCertPem),
    ca: false,
    days: 365,
  });
  writeFileSync(key, k.privatePem, { mode: 0o600 });
  writeFileSync(crt, pem, { mode: 0o644 });
}

/**
 * A kubelet's serving certificate (CN system:node:NAME, SANs: its addresses and name), signed by the cluster
 * CA in `stateDir` (the API server's); written to outDir as kubelet.crt/kubelet.key with the CA as ca.crt.
 */
export function issueKubeletServingCert(
  stateDir: string,
  nodeName: string,
  ips: string[],
  outDir: string,
): { cert: string; key: string; ca: string } {
  const caCertPem = readFileSync(join(stateDir, 'pki', 'ca.crt'), 'utf8');
  const caKeyPem = readFileSync(join(stateDir, 'pki', 'ca.key'), 'utf8');
  privateDir(outDir);
  const out = { cert: join(outDir, 'kubelet.crt'), key: join(outDir, 'kubelet.key'), ca: join(outDir, 'ca.crt') };
  const k = newKey();
  const pem = issue({
    subjectCN: `system:node:${nodeName}`,
    organizations: ['system:nodes'],
    publicPem: k.publicPem,
    signerKeyPem: caKeyPem,
    issuer: forge.pki.certificateFromPem(caCertPem),
    ca: false,
    days: 365,
    dns: [nodeName],
    ips,
  });
  writeFileSync(out.key, k.privatePem, { mode: 0o600 });
  writeFileSync(out.cert, pem, { mode: 0o644 });
  writeFileSync(out.ca, caCertPem, { mode: 0o644 });
  return out;
}

/** A throwaway self-signed serving certificate (the ingress controller's default "fake" certificate). */
export function selfSignedServingCert(cn: string, dns: string[]): { certPem: string; keyPem: string } {
  const k = newKey();
  const certPem = issue({
    subjectCN: cn,
    publicPem: k.publicPem,
    signerKeyPem: k.privatePem,
    ca: false,
    days: 365,
    dns,
  });
  return { certPem, keyPem: k.privatePem };
}
