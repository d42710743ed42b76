import { z } from 'zod';
import { cidrString as anyCidrString } from '../../net/schema.js';

/**
 * CNI 1.1 data shapes as zod schemas. Objects pass unknown keys through: the spec lets plugins carry their
 * own fields, and a runtime must hand them on untouched.
 */

/** "10.244.1.5/24" or "fd00::5/64": an address with its prefix length. */
const cidrString = anyCidrString();
const ipString = z.string().regex(/^[0-9a-fA-F.:]+$/, 'expected an IP address');

const dnsSchema = z
  .object({
    nameservers: z.array(z.string()).optional(),
    domain: z.string().optional(),
    search: z.array(z.string()).optional(),
    options: z.array(z.string()).optional(),
  })
  .passthrough();
export type Dns = z.infer<typeof dnsSchema>;

export const routeSchema = z
  .object({
    dst: cidrString,
    gw: ipString.optional(),
    // 1.1.0 additions
    mtu: z.number().int().optional(),
    advmss: z.number().int().optional(),
    priority: z.number().int().optional(),
    table: z.number().int().optional(),
    scope: z.number().int().optional(),
  })
  .passthrough();
export type Route = z.infer<typeof routeSchema>;

const interfaceSchema = z
  .object({
    name: z.string(),
    mac: z.string().optional(),
    mtu: z.number().int().optional(),
    sandbox: z.string().optional(),
    socketPath: z.string().optional(),
    pciID: z.string().optional(),
  })
  .passthrough();

/** An IP in a 1.x result. 0.4.0 adds `version: "4" | "6"` (see convert.ts). */
const ipConfigSchema = z
  .object({
    address: cidrString,
    gateway: ipString.optional(),
    interface: z.number().int().nonnegative().optional(),
  })
  .passthrough();
export type IpConfig = z.infer<typeof ipConfigSchema>;

/** The in-memory result shape (1.x); converted to/from each wire version at the edges. */
export const resultSchema = z
  .object({
    cniVersion: z.string(),
    interfaces: z.array(interfaceSchema).optional(),
    ips: z.array(ipConfigSchema).optional(),
    routes: z.array(routeSchema).optional(),
    dns: dnsSchema.optional(),
  })
  .passthrough();
export type Result = z.infer<typeof resultSchema>;

const ipam040Schema = ipConfigSchema.extend({ version: z.enum(['4', '6']) });
export const result040Schema = resultSchema.extend({ ips: z.array(ipam040Schema).optional() });

export const ipamConfSchema = z.object({ type: z.string().min(1) }).passthrough();

/** The config a single plugin receives on stdin. */
export const netConfSchema = z
  .object({
    cniVersion: z.string(),
    name: z.string().min(1),
    type: z.string().min(1),
    args: z.record(z.unknown()).optional(),
    ipMasq: z.boolean().optional(),
    ipam: ipamConfSchema.optional(),
    dns: dnsSchema.optional(),
    runtimeConfig: z.record(z.unknown()).optional(),
    prevResult: z.unknown().optional(),
  })
  .passthrough();
export type NetConf = z.infer<typeof netConfSchema>;

/** The plugin entries inside a conflist: name/cniVersion come from the list. */
const pluginEntrySchema = z
  .object({ type: z.string().min(1), capabilities: z.record(z.boolean()).optional() })
  .passthrough();
export type PluginEntry = z.infer<typeof pluginEntrySchema>;

export const netConfListSchema = z
  .object({
    cniVersion: z.string(),
    cniVersions: z.array(z.string()).optional(),
    name: z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/, 'network name: letters, digits, _ . -'),
    disableCheck: z.boolean().optional(),
    disableGC: z.boolean().optional(),
    plugins: z.array(pluginEntrySchema).min(1),
  })
  .passthrough();
export type NetConfList = z.infer<typeof netConfListSchema>;

/** GC input: the attachments the runtime still considers valid (cni.dev/valid-attachments). */
export const attachmentSchema = z.object({ containerID: z.string(), ifname: z.string() });
export type Attachment = z.infer<typeof attachmentSchema>;
export const VALID_ATTACHMENTS_KEY = 'cni.dev/valid-attachments';

export const versionResultSchema = z.object({
  cniVersion: z.string(),
  supportedVersions: z.array(z.string()),
});

export const errorResultSchema = z
  .object({
    cniVersion: z.string().optional(),
    code: z.number().int(),
    msg: z.string(),
    details: z.string().optional(),
  })
  .passthrough();
