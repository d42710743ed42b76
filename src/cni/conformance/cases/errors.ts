import { type ConformanceCase, pass } from '../types.js';
import { expectError, fullEnv } from './common.js';

/** The spec's error codes for bad input, each provoked on the network's main plugin. */
function errorCase(
  id: string,
  title: string,
  code: number,
  call: (h: Parameters<ConformanceCase['run']>[0], pod: string) => { env: Record<string, string>; stdin: string },
): ConformanceCase {
  return {
    id,
    title,
    async run(h) {
      const pod = await h.pod(id);
      const { env, stdin } = call(h, pod);
      const o = await h.call(h.net.list.plugins[0]?.type as string, env, stdin);
      expectError(o, code, title);
      return { ...pass(), code };
    },
  };
}

export const unknownCommandCase = errorCase('error-command', 'unknown CNI_COMMAND → code 4', 4, (h, pod) => ({
  env: { ...fullEnv(pod), CNI_COMMAND: 'FROBNICATE' },
  stdin: JSON.stringify(h.mainConf()),
}));

export const missingEnvCase = errorCase('error-env', 'ADD without CNI_CONTAINERID/NETNS/IFNAME → code 4', 4, (h) => ({
  env: { CNI_COMMAND: 'ADD' },
  stdin: JSON.stringify(h.mainConf()),
}));

export const badJsonCase = errorCase('error-json', 'malformed JSON config → code 6', 6, (_h, pod) => ({
  env: { ...fullEnv(pod), CNI_COMMAND: 'ADD' },
  stdin: '{"cniVersion": "1.0.0", nope',
}));

export const badVersionCase = errorCase('error-version', 'unsupported cniVersion 9.9.9 → code 1', 1, (h, pod) => ({
  env: { ...fullEnv(pod), CNI_COMMAND: 'ADD' },
  stdin: JSON.stringify(h.mainConf({ cniVersion: '9.9.9' })),
}));

export const badContainerIdCase = errorCase(
  'error-container-id',
  'container ID with invalid characters → code 4',
  4,
  (h, pod) => ({
    env: { ...fullEnv(pod, 'bad id'), CNI_COMMAND: 'ADD' },
    stdin: JSON.stringify(h.mainConf()),
  }),
);
