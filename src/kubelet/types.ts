import { z } from 'zod';

/**
 * The parts of a core/v1 Pod the kubelet acts on, validated at the boundary (passthrough keeps every
 * other field so status writes never drop data).
 */
const intOrString = z.union([z.number().int(), z.string()]);

const httpGet = z.object({
  path: z.string().optional(),
  port: intOrString,
  host: z.string().optional(),
  scheme: z.string().optional(),
  httpHeaders: z.array(z.object({ name: z.string(), value: z.string() })).optional(),
});

export const probeSchema = z
  .object({
    httpGet: httpGet.optional(),
    tcpSocket: z.object({ port: intOrString, host: z.string().optional() }).optional(),
    exec: z.object({ command: z.array(z.string()) }).optional(),
    initialDelaySeconds: z.number().int().min(0).default(0),
    periodSeconds: z.number().int().min(1).default(10),
    timeoutSeconds: z.number().int().min(1).default(1),
    successThreshold: z.number().int().min(1).default(1),
    failureThreshold: z.number().int().min(1).default(3),
  })
  .passthrough();
export type Probe = z.infer<typeof probeSchema>;

const resourceList = z.record(z.union([z.string(), z.number()]));

export const containerSchema = z
  .object({
    name: z.string(),
    image: z.string().default(''),
    command: z.array(z.string()).optional(),
    args: z.array(z.string()).optional(),
    workingDir: z.string().optional(),
    /** a stdin that `kubectl attach` writes to; tty: the process runs on a terminal of its own */
    stdin: z.boolean().optional(),
    tty: z.boolean().optional(),
    env: z.array(z.object({ name: z.string(), value: z.string().optional() }).passthrough()).optional(),
    ports: z
      .array(
        z
          .object({ containerPort: z.number().int(), name: z.string().optional(), protocol: z.string().optional() })
          .passthrough(),
      )
      .optional(),
    readinessProbe: probeSchema.optional(),
    livenessProbe: probeSchema.optional(),
    startupProbe: probeSchema.optional(),
    resources: z
      .object({ limits: resourceList.optional(), requests: resourceList.optional() })
      .passthrough()
      .optional(),
  })
  .passthrough();
export type Container = z.infer<typeof containerSchema>;

export const podSchema = z
  .object({
    apiVersion: z.string().optional(),
    kind: z.string().optional(),
    metadata: z
      .object({
        name: z.string(),
        namespace: z.string().default('default'),
        uid: z.string(),
        resourceVersion: z.string().optional(),
        deletionTimestamp: z.string().optional(),
        deletionGracePeriodSeconds: z.number().int().optional(),
        labels: z.record(z.string()).optional(),
      })
      .passthrough(),
    spec: z
      .object({
        nodeName: z.string().optional(),
        hostname: z.string().optional(),
        subdomain: z.string().optional(),
        containers: z.array(containerSchema).min(1),
        restartPolicy: z.enum(['Always', 'OnFailure', 'Never']).default('Always'),
        terminationGracePeriodSeconds: z.number().int().min(0).optional(),
      })
      .passthrough(),
    status: z.record(z.unknown()).optional(),
  })
  .passthrough();
export type Pod = z.infer<typeof podSchema>;

export interface ContainerStateJson {
  waiting?: { reason: string; message?: string };
  running?: { startedAt: string };
  terminated?: {
    exitCode: number;
    reason: string;
    startedAt?: string;
    finishedAt: string;
    signal?: number;
    message?: string;
  };
}

export interface ContainerStatusJson {
  name: string;
  image: string;
  imageID: string;
  containerID?: string;
  ready: boolean;
  started: boolean;
  restartCount: number;
  state: ContainerStateJson;
  lastState: ContainerStateJson;
}

export interface PodCondition {
  type: 'PodScheduled' | 'Initialized' | 'ContainersReady' | 'Ready';
  status: 'True' | 'False';
  lastTransitionTime: string;
  reason?: string;
}

export interface PodStatusJson {
  phase: 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';
  conditions: PodCondition[];
  hostIP?: string;
  hostIPs?: { ip: string }[];
  podIP?: string;
  podIPs?: { ip: string }[];
  startTime?: string;
  containerStatuses: ContainerStatusJson[];
  reason?: string;
  message?: string;
}
