import { existsSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import { UserError } from '../util/errors.js';

/** Load a kubeconfig file; a missing or unreadable file is a one-line user error, not a stack trace. */
export function loadKubeConfig(file: string): KubeConfig {
  if (!existsSync(file)) throw new UserError(`kubeconfig ${file} does not exist`);
  const kc = new KubeConfig();
  try {
    kc.loadFromFile(file);
  } catch (err) {
    throw new UserError(`kubeconfig ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!kc.getCurrentCluster()) throw new UserError(`kubeconfig ${file}: no current cluster`);
  return kc;
}
