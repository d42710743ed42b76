/**
 * Pod-spec fields skiff's kubelet does not implement are refused at admission (Pods and pod templates), with
 * a message that says so, instead of being accepted and silently ignored. What the kubelet does implement is
 * documented in docs/cluster.md; a field that becomes implemented leaves this list.
 */
import type { FieldErrors } from '../errors.js';
import { volumePlugins } from '../../kubelet/volumes/index.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const WHY = "not implemented by skiff's kubelet";

const set = (v: unknown): boolean =>
  v !== undefined && v !== null && v !== false && !(Array.isArray(v) && v.length === 0);

/** Pod fields that change how containers run; any non-empty value is refused. */
const POD_FIELDS = [
  'initContainers',
  'ephemeralContainers',
  'hostNetwork',
  'hostPID',
  'hostIPC',
  'shareProcessNamespace',
  'runtimeClassName',
  'readinessGates',
  'resourceClaims',
  'schedulingGates',
  'topologySpreadConstraints',
  'activeDeadlineSeconds',
];

/** Security settings: only capabilities and privileged are applied (docs/cluster.md). */
const POD_SECURITY = [
  'runAsUser',
  'runAsGroup',
  'runAsNonRoot',
  'fsGroup',
  'fsGroupChangePolicy',
  'supplementalGroups',
  'supplementalGroupsPolicy',
  'sysctls',
  'seLinuxOptions',
  'seLinuxChangePolicy',
  'windowsOptions',
];
const CONTAINER_SECURITY = [
  'runAsUser',
  'runAsGroup',
  'runAsNonRoot',
  'readOnlyRootFilesystem',
  'allowPrivilegeEscalation',
  'seLinuxOptions',
  'procMount',
  'windowsOptions',
];
const CONTAINER_FIELDS = ['lifecycle', 'volumeDevices', 'restartPolicy', 'resizePolicy'];

function profile(errs: FieldErrors, path: string, p: Json): void {
  if (p && typeof p === 'object' && p.type !== undefined && p.type !== 'Unconfined')
    errs.forbidden(`${path}.type`, `${WHY} (only Unconfined)`);
}

function securityContext(errs: FieldErrors, path: string, sc: Json, keys: string[]): void {
  if (!sc || typeof sc !== 'object') return;
  for (const k of keys) if (set(sc[k])) errs.forbidden(`${path}.${k}`, WHY);
  profile(errs, `${path}.seccompProfile`, sc.seccompProfile);
  profile(errs, `${path}.appArmorProfile`, sc.appArmorProfile);
}

export function refuseUnimplemented(errs: FieldErrors, path: string, spec: Json): void {
  for (const f of POD_FIELDS) if (set(spec[f])) errs.forbidden(`${path}.${f}`, WHY);
  if (spec.hostUsers === false) errs.forbidden(`${path}.hostUsers`, `${WHY} (user namespaces)`);
  if (spec.os?.name !== undefined && spec.os.name !== 'linux') errs.forbidden(`${path}.os.name`, `${WHY} (linux only)`);
  securityContext(errs, `${path}.securityContext`, spec.securityContext, POD_SECURITY);
  const supported = [...volumePlugins.keys()];
  (Array.isArray(spec.volumes) ? spec.volumes : []).forEach((v: Json, i: number) => {
    const field = Object.keys(v ?? {}).find((k) => k !== 'name' && v[k] !== undefined && v[k] !== null);
    if (field && !volumePlugins.has(field))
      errs.forbidden(`${path}.volumes[${i}].${field}`, `${WHY} (volume types: ${supported.join(', ')})`);
  });
  (Array.isArray(spec.containers) ? spec.containers : []).forEach((c: Json, i: number) => {
    const p = `${path}.containers[${i}]`;
    if (!c || typeof c !== 'object') return;
    for (const f of CONTAINER_FIELDS) if (set(c[f])) errs.forbidden(`${p}.${f}`, WHY);
    securityContext(errs, `${p}.securityContext`, c.securityContext, CONTAINER_SECURITY);
    for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe'])
      if (set(c[probe]?.grpc)) errs.forbidden(`${p}.${probe}.grpc`, `${WHY} (httpGet, tcpSocket, exec)`);
    (Array.isArray(c.volumeMounts) ? c.volumeMounts : []).forEach((m: Json, j: number) => {
      if (set(m?.subPathExpr)) errs.forbidden(`${p}.volumeMounts[${j}].subPathExpr`, WHY);
      if (m?.mountPropagation !== undefined && m.mountPropagation !== 'None')
        errs.forbidden(`${p}.volumeMounts[${j}].mountPropagation`, `${WHY} (only None)`);
    });
  });
}
