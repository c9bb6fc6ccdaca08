import { ecsFormat } from '@elastic/ecs-pino-format';
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger } from 'pino';

/**
 * Paths that may carry a credential in a log line. Values are replaced, keys kept, so a reader still
 * sees that a header was present. Exact paths only: a wildcard makes every line walk its object, and
 * nothing else the bridge logs can hold a secret (errors and SCIM exchanges are built without them,
 * and the redaction tests scan every line for the configured secrets).
 */
export const redactedPaths = [
  'req.headers.authorization',
  'req.headers["webhook-signature"]',
  'req.headers["svix-signature"]',
  'req.headers["x-bamboohr-signature"]',
  'req.headers["bob-signature"]',
  'req.headers["x-gusto-signature"]',
  'req.headers["x-deel-signature"]',
  'req.headers.cookie',
  'headers.authorization',
];

/** What every line carries besides its own fields; audit-lines.ts writes the same. */
export const baseBindings = { service: { name: 'hr-scim-bridge' } };

export const ecsOptions = () => ecsFormat({ convertReqRes: true, apmIntegration: false });

export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = {
    level,
    ...ecsOptions(),
    redact: { paths: redactedPaths, censor: '[redacted]' },
    base: baseBindings,
  };
  return destination ? pino(options, destination) : pino(options);
}
