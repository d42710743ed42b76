/**
 * POST .../serviceaccounts/NAME/token (TokenRequest, what `kubectl create token NAME` and the kubelet send):
 * a signed, expiring token for the ServiceAccount, optionally bound to a Pod; and the authentication of such
 * tokens, which holds only while the ServiceAccount (and the bound pod) still exist with the same uid.
 */
import { z } from 'zod';
import { nodeNameOf } from './auth/authz.js';
import {
  DEFAULT_EXPIRATION_SECONDS,
  ISSUER,
  MAX_EXPIRATION_SECONDS,
  MIN_EXPIRATION_SECONDS,
  serviceAccountUser,
  type ServiceAccountTokens,
} from './auth/sa-tokens.js';
import type { UserInfo } from './auth/tokens.js';
import { ApiError, badRequest, forbidden, notFound } from './errors.js';
import { pods } from './resources/index.js';
import { serviceaccounts } from './resources/serviceaccounts.js';
import type { Registry } from './rest.js';

const TokenRequestSchema = z.object({
  spec: z
    .object({
      audiences: z.array(z.string()).nullish(),
      expirationSeconds: z.number().int().nullish(),
      boundObjectRef: z
        .object({
          kind: z.string().optional(),
          apiVersion: z.string().optional(),
          name: z.string().optional(),
          uid: z.string().optional(),
        })
        .nullish(),
    })
    .default({}),
});

/** kube-apiserver --service-account-extend-token-expiration: the kubelet's 3607 s tokens live a year. */
const LEGACY_KUBELET_SECONDS = 3607;
const EXTENDED_SECONDS = 365 * 24 * 3600;

const getOrUndefined = async <T>(p: Promise<T>): Promise<T | undefined> => {
  try {
    return await p;
  } catch (e) {
    if (e instanceof ApiError && e.code === 404) return undefined;
    throw e;
  }
};

export async function createToken(
  reg: Registry,
  tokens: ServiceAccountTokens,
  requester: UserInfo,
  namespace: string,
  name: string,
  body: unknown,
): Promise<Record<string, unknown>> {
  const parsed = TokenRequestSchema.safeParse(body ?? {});
  if (!parsed.success)
    throw badRequest(
      `TokenRequest in version "v1" cannot be handled as a TokenRequest: ` +
        `${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  const spec = parsed.data.spec;
  const seconds = spec.expirationSeconds ?? DEFAULT_EXPIRATION_SECONDS;
  if (seconds < MIN_EXPIRATION_SECONDS)
    throw new ApiError(
      422,
      'Invalid',
      `TokenRequest.authentication.k8s.io "${name}" is invalid: spec.expirationSeconds: Invalid ` +
        `value: ${seconds}: may not specify a duration less than 10 minutes`,
    );
  const sa = await reg.get(serviceaccounts, namespace, name);
  let pod: { name: string; uid: string } | undefined;
  const ref = spec.boundObjectRef;
  if (ref) {
    if (ref.kind !== 'Pod')
      throw new ApiError(
        422,
        'Invalid',
        `TokenRequest.authentication.k8s.io "${name}" is invalid: spec.boundObjectRef.kind: ` +
          `Unsupported value: "${ref.kind ?? ''}": supported values: "Pod"`,
      );
    const p = await getOrUndefined(reg.get(pods, namespace, ref.name ?? ''));
    if (!p) throw notFound('pods', '', ref.name ?? '');
    if (ref.uid && ref.uid !== p.metadata.uid)
      throw new ApiError(
        409,
        'Conflict',
        `the UID in the bound object reference (${ref.uid}) does not match the UID in record`,
      );
    if ((p.spec?.serviceAccountName ?? 'default') !== name)
      throw badRequest(`pod "${p.metadata.name}" does not run as ServiceAccount "${name}"`);
    pod = { name: p.metadata.name!, uid: p.metadata.uid! };
  }
  // NodeRestriction: a kubelet asks only for tokens bound to pods it runs.
  const node = nodeNameOf(requester);
  if (node) {
    const p = pod && (await reg.get(pods, namespace, pod.name));
    if (!p || p.spec?.nodeName !== node)
      throw forbidden(requester.name, 'create', 'serviceaccounts/token', '', namespace, name);
  }
  const effective =
    pod && seconds === LEGACY_KUBELET_SECONDS ? EXTENDED_SECONDS : Math.min(seconds, MAX_EXPIRATION_SECONDS);
  const audiences = spec.audiences?.length ? spec.audiences : [ISSUER];
  const { token, claims } = tokens.issue({
    namespace,
    serviceAccount: { name, uid: sa.metadata.uid! },
    pod,
    audiences,
    expirationSeconds: effective,
  });
  return {
    kind: 'TokenRequest',
    apiVersion: 'authentication.k8s.io/v1',
    metadata: {
      name,
      namespace,
      creationTimestamp: new Date(claims.iat * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    },
    spec: { audiences, expirationSeconds: seconds, boundObjectRef: ref ?? null },
    status: { token, expirationTimestamp: new Date(claims.exp * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z') },
  };
}

/** The user behind a bearer token this server issued, if it still holds (objects alive, same uids). */
export async function authenticateServiceAccountToken(
  reg: Registry,
  tokens: ServiceAccountTokens,
  authorization: string | undefined,
): Promise<UserInfo | undefined> {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  if (!m || m[1]!.split('.').length !== 3) return undefined;
  const claims = tokens.verify(m[1]!);
  if (!claims) return undefined;
  const k = claims['kubernetes.io'];
  const sa = await getOrUndefined(reg.get(serviceaccounts, k.namespace, k.serviceaccount.name));
  if (!sa || sa.metadata.uid !== k.serviceaccount.uid) return undefined;
  if (k.pod) {
    const p = await getOrUndefined(reg.get(pods, k.namespace, k.pod.name));
    if (!p || p.metadata.uid !== k.pod.uid || p.metadata.deletionTimestamp) return undefined;
  }
  return serviceAccountUser(claims);
}
