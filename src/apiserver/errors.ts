/**
 * API errors and their Kubernetes `Status` form. Every failure a client sees goes through ApiError, so
 * kubectl prints its usual "Error from server (Reason): message" lines.
 */
import type { Status, StatusCause } from '../api/meta.js';

export interface ErrorDetails {
  name?: string;
  group?: string;
  kind?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: ErrorDetails,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  toStatus(): Status {
    const s: Status = {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      code: this.code,
    };
    if (this.details) s.details = this.details;
    return s;
  }
}

/** "pods", "deployments.apps": how Kubernetes names a resource in messages. */
function qualified(resource: string, group: string): string {
  return group ? `${resource}.${group}` : resource;
}

export const notFound = (resource: string, group: string, name: string) =>
  new ApiError(404, 'NotFound', `${qualified(resource, group)} "${name}" not found`, { name, group, kind: resource });

export const alreadyExists = (resource: string, group: string, name: string) =>
  new ApiError(409, 'AlreadyExists', `${qualified(resource, group)} "${name}" already exists`, {
    name,
    group,
    kind: resource,
  });

export const conflict = (
  resource: string,
  group: string,
  name: string,
  why = 'the object has been modified; please apply your changes to the latest version and try again',
) =>
  new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${qualified(resource, group)} "${name}": ${why}`, {
    name,
    group,
    kind: resource,
  });

export const badRequest = (message: string) => new ApiError(400, 'BadRequest', message);

export const forbidden = (
  user: string,
  verb: string,
  resource: string,
  group: string,
  namespace: string | undefined,
  name?: string,
) => {
  const scope = namespace ? ` in the namespace "${namespace}"` : ' at the cluster scope';
  const what = name
    ? `${qualified(resource.split('/')[0]!, group)} "${name}"`
    : qualified(resource.split('/')[0]!, group);
  return new ApiError(
    403,
    'Forbidden',
    `${what} is forbidden: User "${user}" cannot ${verb} resource "${resource}" in API group "${group}"${scope}`,
    { name, group, kind: resource },
  );
};

export const forbiddenPath = (user: string, verb: string, path: string) =>
  new ApiError(403, 'Forbidden', `forbidden: User "${user}" cannot ${verb} path "${path}"`);

export const methodNotAllowed = (message = 'the server does not allow this method on the requested resource') =>
  new ApiError(405, 'MethodNotAllowed', message);

export const unsupportedMediaType = (type: string) =>
  new ApiError(
    415,
    'UnsupportedMediaType',
    `the body of the request was in an unknown format - accepted media types include: ` +
      `application/json, application/yaml, application/vnd.kubernetes.protobuf, ` +
      `application/merge-patch+json, application/json-patch+json, ` +
      `application/strategic-merge-patch+json (got "${type}")`,
  );

export const gone = (message: string) => new ApiError(410, 'Expired', message);

export const tooLarge = (limit: number) =>
  new ApiError(413, 'RequestEntityTooLarge', `Request entity too large: limit is ${limit}`);

export const tooMany = (message: string, retryAfterSeconds = 1) =>
  new ApiError(429, 'TooManyRequests', message, { retryAfterSeconds });

export const unauthorized = () => new ApiError(401, 'Unauthorized', 'Unauthorized');

export class FieldErrors {
  readonly causes: StatusCause[] = [];
  required(field: string): void {
    this.causes.push({ reason: 'FieldValueRequired', message: 'Required value', field });
  }
  invalid(field: string, value: unknown, detail: string): void {
    this.causes.push({
      reason: 'FieldValueInvalid',
      message: `Invalid value: ${JSON.stringify(value)}: ${detail}`,
      field,
    });
  }
  notSupported(field: string, value: unknown, allowed: string[]): void {
    this.causes.push({
      reason: 'FieldValueNotSupported',
      message: `Unsupported value: ${JSON.stringify(value)}: supported values: ${allowed.map((a) => `"${a}"`).join(', ')}`,
      field,
    });
  }
  duplicate(field: string, value: unknown): void {
    this.causes.push({ reason: 'FieldValueDuplicate', message: `Duplicate value: ${JSON.stringify(value)}`, field });
  }
  tooLong(field: string, maxBytes: number): void {
    this.causes.push({ reason: 'FieldValueTooLong', message: `Too long: must have at most ${maxBytes} bytes`, field });
  }
  forbidden(field: string, detail: string): void {
    this.causes.push({ reason: 'FieldValueForbidden', message: `Forbidden: ${detail}`, field });
  }
  get empty(): boolean {
    return this.causes.length === 0;
  }
}

/** 422 Invalid with one cause per bad field, worded like Kubernetes. */
export function invalid(kind: string, group: string, name: string, causes: StatusCause[]): ApiError {
  const parts = causes.map((c) => `${c.field}: ${c.message}`);
  const list = parts.length === 1 ? parts[0] : `[${parts.join(', ')}]`;
  return new ApiError(422, 'Invalid', `${kind}${group ? `.${group}` : ''} "${name}" is invalid: ${list}`, {
    name,
    group,
    kind,
    causes,
  });
}
