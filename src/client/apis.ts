import {
  AppsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  DiscoveryV1Api,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
} from '@kubernetes/client-node';

/** The typed API groups skiff's components use, made once from one kubeconfig. */
export interface Clients {
  kc: KubeConfig;
  core: CoreV1Api;
  apps: AppsV1Api;
  discovery: DiscoveryV1Api;
  coordination: CoordinationV1Api;
}

export function makeClients(kc: KubeConfig): Clients {
  return {
    kc,
    core: kc.makeApiClient(CoreV1Api),
    apps: kc.makeApiClient(AppsV1Api),
    discovery: kc.makeApiClient(DiscoveryV1Api),
    coordination: kc.makeApiClient(CoordinationV1Api),
  };
}

/**
 * Request options for a JSON merge patch (RFC 7386). Pass as the second argument of any `patch*` call:
 * `core.patchNamespacedPodStatus({ name, namespace, body }, mergePatch)`.
 * Merge patch replaces lists wholesale, which is what controllers want when they own a list.
 */
export const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
