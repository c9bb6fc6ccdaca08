/** The SCIM core User schema; attributes without a URN prefix belong to it. */
export const coreUserSchema = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const enterpriseUserSchema = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

/** Where one mapped value goes in the SCIM User body. */
export interface AttributePath {
  /** The extension URN, or null for the core schema. */
  schema: string | null;
  attribute: string;
  subAttribute: string | null;
}

// RFC 7643 §2.1: ATTRNAME = ALPHA *(nameChar); RFC 7644 §3.10 allows one sub-attribute level.
const attrName = /^[A-Za-z][A-Za-z0-9_$-]*$/;

// The bridge owns these: ids and meta come from the server, `active` from the lifecycle, group membership
// is written on the Group, and the manager's id is only known per target.
const reservedCore = new Set(['id', 'meta', 'schemas', 'active', 'groups']);
const reservedEnterprise = new Set(['manager']);

/** Parses `name.givenName` or `urn:...:User:department` into its parts, or says what is wrong. */
export function parseAttributePath(key: string): AttributePath | string {
  let schema: string | null = null;
  let rest = key;
  if (/^urn:/i.test(key)) {
    const colon = key.lastIndexOf(':');
    schema = key.slice(0, colon);
    rest = key.slice(colon + 1);
    if (!/^urn:[A-Za-z0-9][A-Za-z0-9-]*:\S+$/.test(schema)) return `"${schema}" is not a schema URN`;
    if (schema === coreUserSchema) schema = null;
  }
  const parts = rest.split('.');
  if (parts.length > 2 || parts.some((part) => !attrName.test(part))) {
    return 'expected a SCIM attribute path: attribute, attribute.subAttribute or <schema URN>:attribute[.subAttribute]';
  }
  const [attribute = '', subAttribute = null] = parts;
  const reserved = schema === null ? reservedCore : schema === enterpriseUserSchema ? reservedEnterprise : null;
  if (reserved?.has(attribute.toLowerCase())) {
    return schema === null
      ? `"${attribute}" is set by the bridge, not by the mapping`
      : '"manager" is resolved per target by the bridge: map the HR id with the top-level "manager:" key';
  }
  return { schema, attribute, subAttribute };
}

/** The key the value is known by in the SCIM body, for messages: `name.givenName`, `urn:...:User:department`. */
export function formatAttributePath(path: AttributePath): string {
  const local = path.subAttribute ? `${path.attribute}.${path.subAttribute}` : path.attribute;
  return path.schema ? `${path.schema}:${local}` : local;
}
