import jsonata from 'jsonata';
import { mappingError } from './fail.js';

interface JsonataFailure {
  message: string;
  code?: string;
  position?: number;
}

function isJsonataFailure(error: unknown): error is JsonataFailure {
  return typeof error === 'object' && error !== null && typeof (error as { message?: unknown }).message === 'string';
}

/** Compiles one expression at load time so a typo stops start-up instead of failing every sync. */
export function compileExpression(file: string, label: string, text: string): jsonata.Expression {
  try {
    return jsonata(text);
  } catch (error) {
    const detail = isJsonataFailure(error)
      ? `jsonata syntax error${error.position === undefined ? '' : ` at position ${error.position}`}: ${error.message}`
      : 'jsonata syntax error';
    throw mappingError('MAPPING_INVALID', file, label, detail, error);
  }
}

function unavailable(name: string): () => never {
  return () => {
    throw new Error(`$${name}() is not available in mappings: results must depend only on the record and $today`);
  };
}

/** Bindings for one evaluation. Clock and randomness are shadowed so apply stays pure and hashable. */
export function bindings(active: boolean, today: string): Record<string, unknown> {
  return { active, today, now: unavailable('now'), millis: unavailable('millis'), random: unavailable('random') };
}

export async function evaluateExpression(
  file: string,
  label: string,
  expression: jsonata.Expression,
  input: unknown,
  values: Record<string, unknown>,
): Promise<unknown> {
  try {
    const result: unknown = await expression.evaluate(input, values);
    return result;
  } catch (error) {
    const detail = isJsonataFailure(error)
      ? `${error.code ? `${error.code} ` : ''}${error.message}${error.position === undefined ? '' : ` (position ${error.position})`}`
      : String(error);
    throw mappingError('MAPPING_EVALUATION_FAILED', file, label, detail, error);
  }
}
