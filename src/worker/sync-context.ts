import { AsyncLocalStorage } from 'node:async_hooks';
import type { ScimExchange } from '../scim/types.js';

/**
 * Each sync runs inside its own context, so the SCIM requests it causes are collected for its audit
 * rows even while other syncs run on the same target at the same time.
 */
export const syncContext = new AsyncLocalStorage<{ exchanges: ScimExchange[] }>();
