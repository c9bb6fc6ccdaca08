import { BridgeError, type ErrorCode } from '../domain/errors.js';

type MappingErrorCode = Extract<ErrorCode, `MAPPING_${string}`>;

/** Every mapping error names the file and the attribute, so an operator can go straight to the line. */
export function mappingError(
  code: MappingErrorCode,
  file: string,
  attribute: string | null,
  problem: string,
  cause?: unknown,
): BridgeError {
  const where = attribute ? `${file}: ${attribute}` : file;
  return new BridgeError(code, `${where}: ${problem}`, {
    cause,
    details: attribute ? { file, attribute } : { file },
  });
}
