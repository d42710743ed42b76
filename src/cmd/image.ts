import { UserError } from '../util/errors.js';

// Placeholder until the component lands; replaced by the owning work item.
export async function main(_argv: string[]): Promise<void> {
  throw new UserError('skiff image: not implemented yet', 2);
}
