/**
 * /openapi/v2: one Swagger 2.0 document for every group-version, converted from the OpenAPI v3 documents
 * (so both come from the same schema table and cannot disagree), served as JSON or as the gnostic protobuf
 * `openapi.v2.Document` that client-go's OpenAPISchema() asks for. kubectl 1.27 and older read it for
 * `explain`, for client-side apply's strategic merge patch metadata, and to learn whether PATCH takes
 * `fieldValidation` (server-side validation) instead of validating on the client.
 *
 * The conversion follows kube-openapi's v2 output: `$ref` beside the description instead of v3's
 * `allOf: [{$ref}]` (gnostic and kubectl's proto model read only `$ref`), no `default: {}` on references,
 * body parameters for request bodies, `consumes`/`produces` lists, and one schema per response.
 */
import { createHash } from 'node:crypto';
import { groups } from './discovery.js';
import { groupVersionDoc } from './openapi.js';
import { encodeOpenApiV2 } from './protobuf/gnostic.js';

type Doc = Record<string, unknown>;

const V3_REF = '#/components/schemas/';
const V2_REF = '#/definitions/';
const PATCH = 'io.k8s.apimachinery.pkg.apis.meta.v1.Patch';
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch'] as const;

const isObj = (v: unknown): v is Doc => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A v3 schema as v2 writes it. */
function schemaV2(s: unknown): unknown {
  if (Array.isArray(s)) return s.map(schemaV2);
  if (!isObj(s)) return s;
  const out: Doc = {};
  for (const [k, v] of Object.entries(s)) {
    if (k === '$ref' && typeof v === 'string') out.$ref = v.replace(V3_REF, V2_REF);
    else if (k === 'properties' && isObj(v))
      out.properties = Object.fromEntries(Object.entries(v).map(([p, ps]) => [p, schemaV2(ps)]));
    else out[k] = schemaV2(v);
  }
  const allOf = out.allOf as Doc[] | undefined;
  if (allOf?.length === 1 && typeof allOf[0]!.$ref === 'string' && Object.keys(allOf[0]!).length === 1) {
    delete out.allOf;
    // v3 marks non-pointer struct fields with `default: {}`; v2 has no such default.
    if (isObj(out.default) && !Object.keys(out.default).length) delete out.default;
    out.$ref = allOf[0]!.$ref;
  }
  return out;
}

/** A v3 parameter ({schema: {type}}) as a v2 one ({type}). */
function parameterV2(p: Doc): Doc {
  const { schema, ...rest } = p as { schema?: Doc } & Doc;
  return { ...(schema ?? {}), ...rest };
}

function operationV2(op: Doc): Doc {
  const out: Doc = {};
  const body = op.requestBody as { required?: boolean; content?: Record<string, { schema?: Doc }> } | undefined;
  const consumes = body?.content ? Object.keys(body.content) : ['*/*'];
  const produces = new Set<string>();
  const responses: Doc = {};
  for (const [code, r] of Object.entries((op.responses ?? {}) as Record<string, Doc>)) {
    const content = r.content as Record<string, { schema?: Doc }> | undefined;
    for (const t of Object.keys(content ?? {})) produces.add(t);
    const first = content ? Object.values(content)[0] : undefined;
    responses[code] = { description: r.description, ...(first?.schema ? { schema: schemaV2(first.schema) } : {}) };
  }
  const params = ((op.parameters ?? []) as Doc[]).map(parameterV2);
  if (body?.content) {
    const schemas = Object.values(body.content).map((c) => c.schema);
    // PATCH bodies are of several media types; kube-openapi names them all meta/v1 Patch.
    const ref = consumes.some((c) => c.includes('patch')) ? { $ref: V2_REF + PATCH } : schemaV2(schemas[0]);
    params.unshift({ name: 'body', in: 'body', required: body.required ?? false, schema: ref });
  }
  for (const [k, v] of Object.entries(op)) {
    if (k === 'requestBody' || k === 'responses' || k === 'parameters') continue;
    out[k] = v;
  }
  return {
    description: out.description,
    consumes,
    produces: produces.size ? [...produces] : ['application/json'],
    schemes: ['https'],
    operationId: out.operationId,
    parameters: params,
    responses,
    ...Object.fromEntries(Object.entries(out).filter(([k]) => k !== 'description' && k !== 'operationId')),
  };
}

/** The Swagger 2.0 document for every group-version skiff serves. */
function swaggerDoc(): Doc {
  const paths: Doc = {};
  const definitions: Doc = {
    [PATCH]: {
      description: 'Patch is provided to give a concrete name and type to the Kubernetes PATCH request body.',
      type: 'object',
    },
  };
  for (const gv of [{ group: '', version: 'v1' }, ...groups()]) {
    const v3 = groupVersionDoc(gv.group, gv.version);
    if (!v3) continue;
    for (const [path, item] of Object.entries(v3.paths as Record<string, Doc>)) {
      const out: Doc = {};
      for (const m of METHODS) if (isObj(item[m])) out[m] = operationV2(item[m]);
      if (Array.isArray(item.parameters) && item.parameters.length)
        out.parameters = (item.parameters as Doc[]).map(parameterV2);
      paths[path] = out;
    }
    const schemas = (v3.components as { schemas: Doc }).schemas;
    for (const [name, s] of Object.entries(schemas)) definitions[name] ??= schemaV2(s);
  }
  const sorted = Object.fromEntries(
    Object.keys(definitions)
      .sort()
      .map((k) => [k, definitions[k]]),
  );
  return {
    swagger: '2.0',
    info: { title: 'Kubernetes', version: 'v1.32.0' },
    paths,
    definitions: sorted,
    securityDefinitions: {
      BearerToken: { description: 'Bearer Token authentication', type: 'apiKey', name: 'authorization', in: 'header' },
    },
    security: [{ BearerToken: [] }],
  };
}

interface Served {
  body: Buffer;
  etag: string;
  contentType: string;
}

/** kube-openapi's ETag: the SHA-512 of the served bytes in upper-case hex, quoted. */
const etagOf = (b: Buffer) => `"${createHash('sha512').update(b).digest('hex').toUpperCase()}"`;

/** The media type clients ask for, and the one kube-openapi answers with (Go's mime parser refuses the '@'). */
const PROTOBUF_V2 = 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf';
const PROTOBUF_V2_RETURNED = 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf';

/** Both encodings, computed once (the schema table is static). */
export class OpenApiV2 {
  private readonly json: Served;
  private readonly pb: Served;

  constructor() {
    const doc = swaggerDoc();
    const json = Buffer.from(JSON.stringify(doc));
    const pb = encodeOpenApiV2(doc);
    this.json = { body: json, etag: etagOf(json), contentType: 'application/json' };
    this.pb = { body: pb, etag: etagOf(pb), contentType: PROTOBUF_V2_RETURNED };
  }

  /**
   * Content negotiation as kube-openapi's handler: the Accept clauses in order of preference, the first one
   * that names JSON or the protobuf form (or a wildcard, which means JSON) wins; none is a 406.
   */
  negotiate(accept: string | undefined): Served | undefined {
    for (const clause of acceptClauses(accept || '*/*')) {
      const [type, sub] = clause.split('/') as [string, string | undefined];
      for (const [t, s, served] of [
        ['application', 'json', this.json],
        ['application', '*', this.json],
        ['application', PROTOBUF_V2.slice('application/'.length), this.pb],
      ] as const) {
        if ((type === t || type === '*') && (sub === s || sub === '*')) return served;
      }
    }
    return undefined;
  }
}

/** Media ranges of an Accept header, most preferred first (q, then specificity, then order), q=0 dropped. */
export function acceptClauses(accept: string): string[] {
  const parsed = accept
    .split(',')
    .map((part, i) => {
      const [range, ...params] = part.trim().split(';');
      let q = 1;
      for (const p of params) {
        const [k, v] = p.trim().split('=');
        if (k === 'q') q = Number(v);
      }
      const r = (range ?? '').trim().toLowerCase();
      const specificity = r === '*/*' ? 0 : r.endsWith('/*') ? 1 : 2;
      return { r, q: Number.isFinite(q) ? q : 0, specificity, i };
    })
    .filter((c) => c.r && c.q > 0);
  parsed.sort((a, b) => b.q - a.q || b.specificity - a.specificity || a.i - b.i);
  return parsed.map((c) => c.r);
}
