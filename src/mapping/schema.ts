import { z } from 'zod';
import type { CompiledMapping, TargetProfile } from './types.js';

/** What a target does with accounts over time; the lifecycle reads it, the mapping file declares it. */
export interface MappingPolicy {
  /** Days before `startDate` that a pending hire gets an account. */
  preStartDays: number;
  /** Whether an employee on leave keeps an active account. */
  leave: 'active' | 'inactive';
  /** Whether a deactivated account is ever deleted, and then only after `graceDays`. */
  delete: 'never' | 'after-grace';
  /** Days between deactivation and deletion when `delete` is `after-grace`. */
  graceDays: number;
}

/** A mapping as loaded from its file: the compiled mapping plus the target's lifecycle policy. */
export interface LoadedMapping extends CompiledMapping {
  readonly policy: MappingPolicy;
}

// Defaults are the generic profile so a mapping for a well-behaved SCIM server only states what differs.
export const defaultProfile: TargetProfile = {
  update: 'patch',
  userLookup: ['externalId', 'userName'],
  manager: 'enterprise',
  groups: true,
  groupMemberChunk: 100,
  groupRemoveChunk: 100,
  maxPatchOperations: 100,
  requestsPerSecond: 20,
  escapedFilterValues: true,
};

export const defaultPolicy: MappingPolicy = {
  preStartDays: 0,
  leave: 'active',
  delete: 'never',
  graceDays: 30,
};

const chunk = z.number().int().min(1).max(10_000);

export const profileSchema = z
  .object({
    update: z.enum(['patch', 'put']).default(defaultProfile.update),
    userLookup: z
      .array(z.enum(['externalId', 'userName']))
      .min(1)
      .refine((list) => new Set(list).size === list.length, 'lists an attribute twice')
      .default(defaultProfile.userLookup),
    manager: z.enum(['enterprise', 'slack', 'none']).default(defaultProfile.manager),
    groups: z.boolean().default(defaultProfile.groups),
    groupMemberChunk: chunk.default(defaultProfile.groupMemberChunk),
    groupRemoveChunk: chunk.default(defaultProfile.groupRemoveChunk),
    maxPatchOperations: chunk.default(defaultProfile.maxPatchOperations),
    // Fractions are meaningful: some targets budget requests per hour.
    requestsPerSecond: z.number().positive().max(10_000).default(defaultProfile.requestsPerSecond),
    escapedFilterValues: z.boolean().default(defaultProfile.escapedFilterValues),
  })
  .strict();

export const policySchema = z
  .object({
    preStartDays: z.number().int().min(0).max(365).default(defaultPolicy.preStartDays),
    leave: z.enum(['active', 'inactive']).default(defaultPolicy.leave),
    delete: z.enum(['never', 'after-grace']).default(defaultPolicy.delete),
    graceDays: z.number().int().min(0).max(3650).default(defaultPolicy.graceDays),
  })
  .strict();

const expression = z
  .string({ error: 'expected a jsonata expression as a string (quote literals, e.g. "\'work\'")' })
  .refine((text) => text.trim() !== '', 'expression is empty');

export const mappingFileSchema = z
  .object({
    name: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'use letters, digits, ".", "_" and "-"')
      .optional(),
    description: z.string().optional(),
    profile: profileSchema.default(() => ({ ...defaultProfile, userLookup: [...defaultProfile.userLookup] })),
    policy: policySchema.default(() => ({ ...defaultPolicy })),
    user: z.record(z.string(), expression),
    groups: expression.optional(),
    manager: expression.optional(),
    required: z.array(z.string()).optional(),
  })
  .strict();

export type MappingFile = z.infer<typeof mappingFileSchema>;
