import { ecsFormat } from '@elastic/ecs-pino-format';
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger } from 'pino';

/**
 * Paths that may carry a credential in any log line. Values are replaced, keys kept, so a reader
 * still sees that a header was present.
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
  '*.token',
  '*.secret',
  '*.password',
  '*.apiKey',
  '*.clientSecret',
];

export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = {
    level,
    ...ecsFormat({ convertReqRes: true, apmIntegration: false }),
    redact: { paths: redactedPaths, censor: '[redacted]' },
    base: { service: { name: 'hr-scim-bridge' } },
  };
  return destination ? pino(options, destination) : pino(options);
}
