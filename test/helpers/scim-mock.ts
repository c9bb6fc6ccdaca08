import { MockAgent, type Dispatcher } from 'undici';
import { BridgeError } from '../../src/domain/errors.js';
import type { ScimJson, TargetProfile } from '../../src/mapping/types.js';
import { defaultProfile } from '../../src/mapping/index.js';
import { createScimTarget } from '../../src/scim/index.js';
import type { ScimClientOptions, ScimExchange } from '../../src/scim/types.js';

/**
 * A SCIM target over undici's MockAgent, for the client's own unit tests: scripted answers, every
 * request recorded as sent. End-to-end tests use real SCIM servers instead (scim-servers/).
 */
export const MOCK_ORIGIN = 'http://scim.test';

export const TEST_PROFILE: TargetProfile = { ...defaultProfile, groupMemberChunk: 50, groupRemoveChunk: 10, maxPatchOperations: 20, requestsPerSecond: 1000 };

export interface SentRequest {
  method: string;
  path: string;
  body: ScimJson | undefined;
}

export function mockScimTarget(profile: Partial<TargetProfile> = {}, options: Partial<ScimClientOptions> = {}) {
  const agent = new MockAgent();
  agent.disableNetConnect();
  const sent: SentRequest[] = [];
  const recording = agent.compose((dispatch) => (opts, handler) => {
    sent.push({ method: opts.method, path: opts.path, body: typeof opts.body === 'string' ? (JSON.parse(opts.body) as ScimJson) : undefined });
    return dispatch(opts, handler);
  });
  const exchanges: ScimExchange[] = [];
  const target = createScimTarget(
    {
      target: 'app1',
      baseUrl: `${MOCK_ORIGIN}/scim/v2`,
      token: () => 'secret-token',
      profile: { ...TEST_PROFILE, ...profile },
      mode: 'live',
      timeoutMs: 2_000,
      userAgent: 'hr-scim-bridge/test',
      onExchange: (exchange) => exchanges.push(exchange),
      ...options,
    },
    recording as Dispatcher,
  );
  return { pool: agent.get(MOCK_ORIGIN), sent, exchanges, target };
}

/** The BridgeError a promise rejects with; fails the test if it resolves or throws something else. */
export async function failure(promise: Promise<unknown>): Promise<BridgeError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof BridgeError) return error;
    throw error;
  }
  throw new Error('expected a BridgeError');
}

export const listResponse = (...resources: object[]) => ({
  schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'],
  totalResults: resources.length,
  Resources: resources,
});
