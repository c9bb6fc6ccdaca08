export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** A value that cannot go into a SCIM body, with where it sits below the attribute being checked. */
export class OutputProblem extends Error {
  constructor(
    readonly at: string,
    problem: string,
  ) {
    super(problem);
    this.name = 'OutputProblem';
  }
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/**
 * Copies a jsonata result into plain JSON. jsonata hands back sequences (arrays with extra flags),
 * functions and non-finite numbers; none of those may reach a target or a payload hash.
 */
export function toJson(value: unknown, at = ''): Json | undefined {
  if (value === undefined || value === null) return value ?? undefined;
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new OutputProblem(at, 'is not a finite number');
    return value;
  }
  if (Array.isArray(value)) {
    const items: Json[] = [];
    value.forEach((item: unknown, index) => {
      const json = toJson(item, `${at}[${index}]`);
      if (json !== undefined) items.push(json);
    });
    return items;
  }
  // jsonata represents its own lambdas and function references as objects carrying these flags.
  if (isPlainObject(value) && (value._jsonata_lambda === true || value._jsonata_function !== undefined)) {
    throw new OutputProblem(at, 'is a function, not a value');
  }
  if (isPlainObject(value)) {
    const object: JsonObject = {};
    for (const [key, item] of Object.entries(value)) {
      const json = toJson(item, at ? `${at}.${key}` : key);
      if (json !== undefined) object[key] = json;
    }
    return object;
  }
  throw new OutputProblem(at, typeof value === 'function' ? 'is a function, not a value' : 'is not a JSON value');
}

/** Drops what a SCIM body must not carry as "no value": null, "", and arrays or objects left empty. */
export function prune(value: Json | undefined): Json | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (Array.isArray(value)) {
    const items = value.map(prune).filter((item): item is Json => item !== undefined);
    return items.length > 0 ? items : undefined;
  }
  if (typeof value === 'object') {
    const object: JsonObject = {};
    for (const [key, item] of Object.entries(value)) {
      const kept = prune(item);
      if (kept !== undefined) object[key] = kept;
    }
    return Object.keys(object).length > 0 ? object : undefined;
  }
  return value;
}

/** The record as expressions see it: absent and null mean the same, so `a & b` never prints "null". */
export function withoutNulls(value: unknown): unknown {
  if (value === null) return undefined;
  if (Array.isArray(value)) return value.filter((item) => item !== null).map(withoutNulls);
  if (isPlainObject(value)) {
    const object: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      if (item !== null && item !== undefined) object[key] = withoutNulls(item);
    }
    return object;
  }
  return value;
}
