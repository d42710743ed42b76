/** core/v1 ServiceAccount and authentication.k8s.io/v1 TokenRequest (the serviceaccounts/token subresource). */
import { bool, defineType, int, list, ref, str, strList, time } from './schema.js';
import { T_LIST_META, T_OBJECT_META } from './meta.js';
import { T as CORE } from './core-v1.js';

const V1 = 'io.k8s.api.core.v1';
const AUTHN = 'io.k8s.api.authentication.v1';
export const T = { ServiceAccount: `${V1}.ServiceAccount`, TokenRequest: `${AUTHN}.TokenRequest` } as const;

defineType({
  name: `${V1}.LocalObjectReference`,
  desc: 'LocalObjectReference contains enough information to let you locate the referenced object inside the same namespace.',
  props: { name: str('Name of the referent.') },
});
defineType({
  name: T.ServiceAccount,
  desc:
    'ServiceAccount binds together: a name, understood by users, ' +
    'and perhaps by peripheral systems, for an identity;' +
    ' a principal that can be authenticated and authorized; a set of secrets.',
  gvk: [{ group: '', version: 'v1', kind: 'ServiceAccount' }],
  props: {
    apiVersion: str(),
    kind: str(),
    metadata: ref(T_OBJECT_META, "Standard object's metadata."),
    secrets: list(
      ref(CORE.ObjectReference),
      'Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use.',
      { mergeKey: 'name', strategy: 'merge' },
    ),
    imagePullSecrets: list(
      ref(`${V1}.LocalObjectReference`),
      'ImagePullSecrets is a list of references to secrets in the same namespace to use for ' +
        'pulling any images in pods that reference this ServiceAccount.',
    ),
    automountServiceAccountToken: bool(
      'AutomountServiceAccountToken indicates whether pods running as this service account should have an API token automatically mounted.',
    ),
  },
});
defineType({
  name: `${V1}.ServiceAccountList`,
  desc: 'ServiceAccountList is a list of ServiceAccount objects',
  gvk: [{ group: '', version: 'v1', kind: 'ServiceAccountList' }],
  props: {
    apiVersion: str(),
    kind: str(),
    metadata: ref(T_LIST_META, 'Standard list metadata.'),
    items: list(ref(T.ServiceAccount), 'List of ServiceAccounts.'),
  },
  required: ['items'],
});
defineType({
  name: `${AUTHN}.BoundObjectReference`,
  desc: 'BoundObjectReference is a reference to an object that a token is bound to.',
  props: {
    kind: str("Kind of the referent. Valid kinds are 'Pod' and 'Secret'."),
    apiVersion: str('API version of the referent.'),
    name: str('Name of the referent.'),
    uid: str('UID of the referent.'),
  },
});
defineType({
  name: `${AUTHN}.TokenRequestSpec`,
  desc: 'TokenRequestSpec contains client provided parameters of a token request.',
  props: {
    audiences: strList('Audiences are the intendend audiences of the token.'),
    expirationSeconds: int('ExpirationSeconds is the requested duration of validity of the request.', 'int64'),
    boundObjectRef: ref(
      `${AUTHN}.BoundObjectReference`,
      'BoundObjectRef is a reference to an object that the token will be bound to.',
    ),
  },
});
defineType({
  name: `${AUTHN}.TokenRequestStatus`,
  desc: 'TokenRequestStatus is the result of a token request.',
  props: {
    token: str('Token is the opaque bearer token.'),
    expirationTimestamp: time('ExpirationTimestamp is the time of expiration of the returned token.'),
  },
});
defineType({
  name: T.TokenRequest,
  desc: 'TokenRequest requests a token for a given service account.',
  gvk: [{ group: 'authentication.k8s.io', version: 'v1', kind: 'TokenRequest' }],
  props: {
    apiVersion: str(),
    kind: str(),
    metadata: ref(T_OBJECT_META, "Standard object's metadata."),
    spec: ref(`${AUTHN}.TokenRequestSpec`, 'Spec holds information about the request being evaluated'),
    status: ref(
      `${AUTHN}.TokenRequestStatus`,
      'Status is filled in by the server and indicates whether the token can be authenticated.',
    ),
  },
});
