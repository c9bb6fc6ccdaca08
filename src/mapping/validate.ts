import { formatAttributePath, type AttributePath } from './attributes.js';
import { isPlainObject, OutputProblem, type Json, type JsonObject } from './json.js';

// Multi-valued complex attributes of the core User (RFC 7643 §4.1.2): a target expects a list of objects.
const multiValuedComplex = [
  'emails',
  'phoneNumbers',
  'ims',
  'photos',
  'addresses',
  'entitlements',
  'roles',
  'x509Certificates',
];

// Deliberately loose: the target owns the exact rules; this only catches values that are clearly not addresses.
const emailAddress = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

function requireText(user: JsonObject, attribute: string): void {
  const value = user[attribute];
  if (value === undefined) throw new OutputProblem(attribute, 'is required but the mapping gave no value');
  if (typeof value !== 'string' || value.trim() === '') throw new OutputProblem(attribute, 'must be a non-empty string');
}

function checkEmails(value: Json): void {
  if (!Array.isArray(value)) throw new OutputProblem('emails', 'must be a list of {value, type, primary} objects');
  let primaries = 0;
  value.forEach((email, index) => {
    const at = `emails[${index}]`;
    if (!isPlainObject(email)) throw new OutputProblem(at, 'must be an object with a "value"');
    if (typeof email.value !== 'string') throw new OutputProblem(`${at}.value`, 'is required and must be a string');
    if (!emailAddress.test(email.value)) throw new OutputProblem(`${at}.value`, 'is not an email address');
    if (email.type !== undefined && typeof email.type !== 'string') throw new OutputProblem(`${at}.type`, 'must be a string');
    if (email.primary !== undefined && typeof email.primary !== 'boolean') {
      throw new OutputProblem(`${at}.primary`, 'must be true or false');
    }
    if (email.primary === true) primaries += 1;
  });
  // RFC 7643 §2.4: the primary attribute value "true" MUST appear no more than once.
  if (primaries > 1) throw new OutputProblem('emails', 'marks more than one address as primary');
}

function lookup(user: JsonObject, path: AttributePath): Json | undefined {
  const container = path.schema === null ? user : user[path.schema];
  if (!isPlainObject(container)) return undefined;
  const value = (container as JsonObject)[path.attribute];
  if (path.subAttribute === null) return value;
  return isPlainObject(value) ? (value as JsonObject)[path.subAttribute] : undefined;
}

/**
 * Checks the finished SCIM User the way a strict target would, so a bad record fails here with the
 * attribute named rather than as a 400 from the target. Throws OutputProblem.
 */
export function validateUser(user: JsonObject, required: readonly AttributePath[]): void {
  requireText(user, 'userName');
  requireText(user, 'externalId');
  if (user.emails !== undefined) checkEmails(user.emails);
  for (const attribute of multiValuedComplex) {
    const value = user[attribute];
    if (value === undefined) continue;
    if (!Array.isArray(value)) throw new OutputProblem(attribute, 'must be a list of objects');
    value.forEach((item, index) => {
      if (!isPlainObject(item)) throw new OutputProblem(`${attribute}[${index}]`, 'must be an object');
    });
  }
  for (const path of required) {
    if (lookup(user, path) === undefined) {
      throw new OutputProblem(formatAttributePath(path), 'is required by this target but the mapping gave no value');
    }
  }
}
