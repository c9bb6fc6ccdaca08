import { BridgeError, isBridgeError, type ErrorCode } from '../domain/errors.js';

/**
 * Runs a write to a resource the bridge knows by id. Its 404 stands only if a read of the resource
 * agrees: a target that lags behind its own writes, or misreports, can answer 404 for something it
 * still has, and the caller would then forget or re-create it. Otherwise the write fails with
 * `stillThere`, marked as confirmed by a read.
 */
export async function confirmNotFound(
  write: () => Promise<unknown>,
  exists: () => Promise<boolean>,
  stillThere: { code: ErrorCode; message: string },
): Promise<void> {
  try {
    await write();
  } catch (error) {
    if (!isBridgeError(error, 'SCIM_NOT_FOUND')) throw error;
    if (!(await exists())) throw error;
    throw new BridgeError(stillThere.code, stillThere.message, { cause: error, details: { ...error.details, confirmedBy: 'GET' } });
  }
}
