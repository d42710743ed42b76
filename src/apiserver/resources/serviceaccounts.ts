/** core/v1 ServiceAccount (tokens come from its `token` subresource: ../tokenrequest.ts). */
import { T as SA } from '../../api/serviceaccount-v1.js';
import { ageColumn, humanAge, nameColumn, type ResourceDef } from './types.js';

export const serviceaccounts: ResourceDef = {
  group: '',
  version: 'v1',
  kind: 'ServiceAccount',
  plural: 'serviceaccounts',
  singular: 'serviceaccount',
  shortNames: ['sa'],
  namespaced: true,
  typeName: SA.ServiceAccount,
  statusSubresource: false,
  resetStatusOnCreate: false,
  specFields: ['secrets', 'imagePullSecrets', 'automountServiceAccountToken'],
  table: {
    columns: [
      nameColumn,
      {
        name: 'Secrets',
        type: 'integer',
        description:
          'Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use.',
        priority: 0,
      },
      ageColumn,
    ],
    cells: (o, now) => [
      o.metadata.name,
      ((o.secrets as unknown[] | undefined) ?? []).length,
      humanAge(o.metadata.creationTimestamp, now),
    ],
  },
};
