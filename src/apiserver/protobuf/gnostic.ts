/**
 * A Swagger 2.0 JSON document as gnostic's `openapi.v2.Document` protobuf message, the form client-go's
 * OpenAPISchema() downloads (kube-openapi turns its JSON into this with gnostic's ParseDocument). The mapping
 * is gnostic's compiler's: JSON maps become repeated Named* pairs in document order, `$ref` is `_ref`,
 * a schema's `type` a TypeItem, parameters a oneof by `in`, and every vendor extension, default or enum value
 * an `Any` holding its YAML text (kubectl reads extensions back with yaml.Unmarshal).
 * The messages are encoded by protobufjs from the descriptor generated out of gnostic's .proto.
 */
import protobuf from 'protobufjs/light.js';
import { stringify } from 'yaml';
import { openapiV2Descriptor } from './openapiv2-descriptor.js';

type Doc = Record<string, unknown>;
type Msg = Record<string, unknown>;

const isObj = (v: unknown): v is Doc => typeof v === 'object' && v !== null && !Array.isArray(v);

const root = protobuf.Root.fromJSON(openapiV2Descriptor as unknown as protobuf.INamespace);
const DocumentType = root.lookupType('openapi.v2.Document');

/** Drop absent values so protobufjs writes only what the JSON had. */
function compact(m: Msg): Msg {
  const out: Msg = {};
  for (const [k, v] of Object.entries(m)) {
    if (v === undefined || v === null) continue;
    if (Array.isArray(v) && !v.length) continue;
    out[k] = v;
  }
  return out;
}

const anyOf = (v: unknown): Msg => ({ yaml: stringify(v, { lineWidth: 0 }) });

function extensions(o: Doc): Msg[] {
  return Object.entries(o)
    .filter(([k]) => k.startsWith('x-'))
    .map(([name, v]) => ({ name, value: anyOf(v) }));
}

const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
const num = (v: unknown) => (typeof v === 'number' ? v : undefined);
const bool = (v: unknown) => (typeof v === 'boolean' ? v : undefined);
const strs = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : undefined);

function schema(s: Doc): Msg {
  const ap = s.additionalProperties;
  const items = s.items;
  return compact({
    _ref: str(s.$ref),
    format: str(s.format),
    title: str(s.title),
    description: str(s.description),
    default: s.default !== undefined ? anyOf(s.default) : undefined,
    multiple_of: num(s.multipleOf),
    maximum: num(s.maximum),
    exclusive_maximum: bool(s.exclusiveMaximum),
    minimum: num(s.minimum),
    exclusive_minimum: bool(s.exclusiveMinimum),
    max_length: num(s.maxLength),
    min_length: num(s.minLength),
    pattern: str(s.pattern),
    max_items: num(s.maxItems),
    min_items: num(s.minItems),
    unique_items: bool(s.uniqueItems),
    max_properties: num(s.maxProperties),
    min_properties: num(s.minProperties),
    required: strs(s.required),
    enum: Array.isArray(s.enum) ? s.enum.map(anyOf) : undefined,
    additional_properties: typeof ap === 'boolean' ? { boolean: ap } : isObj(ap) ? { schema: schema(ap) } : undefined,
    type: s.type !== undefined ? { value: Array.isArray(s.type) ? s.type : [s.type] } : undefined,
    items: Array.isArray(items)
      ? { schema: items.filter(isObj).map(schema) }
      : isObj(items)
        ? { schema: [schema(items)] }
        : undefined,
    all_of: Array.isArray(s.allOf) ? s.allOf.filter(isObj).map(schema) : undefined,
    properties: isObj(s.properties)
      ? {
          additional_properties: Object.entries(s.properties)
            .filter(([, v]) => isObj(v))
            .map(([name, v]) => ({ name, value: schema(v as Doc) })),
        }
      : undefined,
    discriminator: str(s.discriminator),
    read_only: bool(s.readOnly),
    example: s.example !== undefined ? anyOf(s.example) : undefined,
    vendor_extension: extensions(s),
  });
}

function primitives(p: Doc): Msg {
  return compact({
    type: str(p.type),
    format: str(p.format),
    items: isObj(p.items) ? primitives(p.items) : undefined,
    collection_format: str(p.collectionFormat),
    default: p.default !== undefined ? anyOf(p.default) : undefined,
    unique_items: bool(p.uniqueItems),
    enum: Array.isArray(p.enum) ? p.enum.map(anyOf) : undefined,
    vendor_extension: extensions(p),
  });
}

const SUB_SCHEMA: Record<string, string> = {
  header: 'header_parameter_sub_schema',
  formData: 'form_data_parameter_sub_schema',
  query: 'query_parameter_sub_schema',
  path: 'path_parameter_sub_schema',
};

function parameter(p: Doc): Msg {
  if (typeof p.$ref === 'string') return { json_reference: { _ref: p.$ref } };
  if (p.in === 'body')
    return {
      parameter: {
        body_parameter: compact({
          description: str(p.description),
          name: str(p.name),
          in: 'body',
          required: bool(p.required),
          schema: isObj(p.schema) ? schema(p.schema) : undefined,
          vendor_extension: extensions(p),
        }),
      },
    };
  const sub = SUB_SCHEMA[String(p.in)];
  if (!sub) throw new Error(`openapi v2: parameter ${String(p.name)} has an unknown location ${String(p.in)}`);
  return {
    parameter: {
      non_body_parameter: {
        [sub]: compact({
          required: bool(p.required),
          in: str(p.in),
          description: str(p.description),
          name: str(p.name),
          allow_empty_value: p.in === 'query' || p.in === 'formData' ? bool(p.allowEmptyValue) : undefined,
          ...primitives(p),
        }),
      },
    },
  };
}

function responses(r: Doc): Msg {
  return compact({
    response_code: Object.entries(r)
      .filter(([k, v]) => !k.startsWith('x-') && isObj(v))
      .map(([name, v]) => {
        const resp = v as Doc;
        if (typeof resp.$ref === 'string') return { name, value: { json_reference: { _ref: resp.$ref } } };
        return {
          name,
          value: {
            response: compact({
              description: str(resp.description) ?? '',
              schema: isObj(resp.schema) ? { schema: schema(resp.schema) } : undefined,
              vendor_extension: extensions(resp),
            }),
          },
        };
      }),
    vendor_extension: extensions(r),
  });
}

function operation(o: Doc): Msg {
  return compact({
    tags: strs(o.tags),
    summary: str(o.summary),
    description: str(o.description),
    operation_id: str(o.operationId),
    produces: strs(o.produces),
    consumes: strs(o.consumes),
    parameters: Array.isArray(o.parameters) ? o.parameters.filter(isObj).map(parameter) : undefined,
    responses: isObj(o.responses) ? responses(o.responses) : undefined,
    schemes: strs(o.schemes),
    deprecated: bool(o.deprecated),
    vendor_extension: extensions(o),
  });
}

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch'] as const;

function pathItem(p: Doc): Msg {
  const out: Msg = { _ref: str(p.$ref) };
  for (const m of METHODS) if (isObj(p[m])) out[m] = operation(p[m]);
  out.parameters = Array.isArray(p.parameters) ? p.parameters.filter(isObj).map(parameter) : undefined;
  out.vendor_extension = extensions(p);
  return compact(out);
}

function securityDefinition(s: Doc): Msg {
  if (s.type === 'apiKey')
    return {
      api_key_security: compact({
        type: 'apiKey',
        name: str(s.name),
        in: str(s.in),
        description: str(s.description),
        vendor_extension: extensions(s),
      }),
    };
  if (s.type === 'basic')
    return { basic_authentication_security: compact({ type: 'basic', description: str(s.description) }) };
  throw new Error(`openapi v2: security definition of type ${String(s.type)} is not supported`);
}

/** The gnostic message (plain object, field names as in the .proto) for a Swagger 2.0 document. */
function gnosticDocument(d: Doc): Msg {
  const info = isObj(d.info) ? d.info : {};
  return compact({
    swagger: str(d.swagger),
    info: compact({
      title: str(info.title),
      version: str(info.version),
      description: str(info.description),
      vendor_extension: extensions(info),
    }),
    host: str(d.host),
    base_path: str(d.basePath),
    schemes: strs(d.schemes),
    consumes: strs(d.consumes),
    produces: strs(d.produces),
    paths: isObj(d.paths)
      ? compact({
          vendor_extension: extensions(d.paths),
          path: Object.entries(d.paths)
            .filter(([k, v]) => !k.startsWith('x-') && isObj(v))
            .map(([name, v]) => ({ name, value: pathItem(v as Doc) })),
        })
      : undefined,
    definitions: isObj(d.definitions)
      ? {
          additional_properties: Object.entries(d.definitions)
            .filter(([, v]) => isObj(v))
            .map(([name, v]) => ({ name, value: schema(v as Doc) })),
        }
      : undefined,
    security: Array.isArray(d.security)
      ? d.security.filter(isObj).map((req) => ({
          additional_properties: Object.entries(req).map(([name, v]) => ({ name, value: { value: strs(v) ?? [] } })),
        }))
      : undefined,
    security_definitions: isObj(d.securityDefinitions)
      ? {
          additional_properties: Object.entries(d.securityDefinitions)
            .filter(([, v]) => isObj(v))
            .map(([name, v]) => ({ name, value: securityDefinition(v as Doc) })),
        }
      : undefined,
    vendor_extension: extensions(d),
  });
}

export function encodeOpenApiV2(d: Doc): Buffer {
  const msg = gnosticDocument(d);
  const err = DocumentType.verify(msg);
  if (err) throw new Error(`openapi v2: the protobuf document is malformed: ${err}`);
  return Buffer.from(DocumentType.encode(msg).finish());
}
