import { bandwidthCase } from './cases/bandwidth.js';
import { concurrentCase } from './cases/concurrent.js';
import { delNetnsGoneCase, delNeverAddedCase, delTwiceCase } from './cases/del.js';
import { badContainerIdCase, badJsonCase, badVersionCase, missingEnvCase, unknownCommandCase } from './cases/errors.js';
import { gcCase, statusCase } from './cases/gc-status.js';
import { checkDetectsCase, lifecycleCase } from './cases/lifecycle.js';
import { prevResultCase } from './cases/prevresult.js';
import { versionCase } from './cases/version.js';
import { versionsCase } from './cases/versions.js';
import type { ConformanceCase } from './types.js';

/** Every conformance case, in the order the table shows them. A new case is a file in cases/ and a line here. */
export const CASES: readonly ConformanceCase[] = [
  versionCase,
  unknownCommandCase,
  missingEnvCase,
  badJsonCase,
  badVersionCase,
  badContainerIdCase,
  lifecycleCase,
  checkDetectsCase,
  delNeverAddedCase,
  delTwiceCase,
  delNetnsGoneCase,
  prevResultCase,
  versionsCase,
  gcCase,
  statusCase,
  bandwidthCase,
  concurrentCase,
];
