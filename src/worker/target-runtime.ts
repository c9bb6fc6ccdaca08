import type { LifecyclePolicy } from '../domain/lifecycle.js';
import type { CompiledMapping } from '../mapping/types.js';
import type { ScimTarget } from '../scim/types.js';

/** Everything the worker needs about one configured target, built once at start-up. */
export interface TargetRuntime {
  name: string;
  mode: 'live' | 'shadow' | 'dry-run';
  scim: ScimTarget;
  mapping: CompiledMapping;
  policy: LifecyclePolicy;
  /** A short hash of the credential in use: a paused target resumes when it changes. */
  credentialFingerprint(): string;
}
