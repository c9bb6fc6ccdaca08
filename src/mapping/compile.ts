import { basename, extname } from 'node:path';
import { formatAttributePath, parseAttributePath, type AttributePath } from './attributes.js';
import { applyMapping, type CompiledAttribute, type CompiledExpressions } from './apply.js';
import { compileExpression } from './expression.js';
import { mappingError } from './fail.js';
import type { LoadedMapping, MappingFile } from './schema.js';
import type { TargetProfile } from './types.js';

// Attributes the bridge itself reads from the output; a different spelling would silently not be found.
const canonicalSpelling = new Map(['userName', 'externalId', 'emails'].map((name) => [name.toLowerCase(), name]));

function pathOrFail(file: string, label: string, key: string): AttributePath {
  const parsed = parseAttributePath(key);
  if (typeof parsed === 'string') throw mappingError('MAPPING_INVALID', file, label, parsed);
  const canonical = parsed.schema === null ? canonicalSpelling.get(parsed.attribute.toLowerCase()) : undefined;
  if (canonical !== undefined && canonical !== parsed.attribute) {
    throw mappingError('MAPPING_INVALID', file, label, `spell it "${canonical}"`);
  }
  return parsed;
}

interface Claimed {
  key: string;
  spelling: string;
  whole: boolean;
  subAttributes: Set<string>;
}

/** SCIM names are case-insensitive: two keys that land on the same value would overwrite each other. */
function checkOverlaps(file: string, attributes: readonly CompiledAttribute[]): void {
  const claimed = new Map<string, Claimed>();
  for (const { key, path } of attributes) {
    const id = `${path.schema ?? ''}|${path.attribute.toLowerCase()}`;
    const label = `user.${key}`;
    const previous = claimed.get(id);
    if (!previous) {
      claimed.set(id, {
        key,
        spelling: path.attribute,
        whole: path.subAttribute === null,
        subAttributes: new Set(path.subAttribute ? [path.subAttribute.toLowerCase()] : []),
      });
      continue;
    }
    if (previous.spelling !== path.attribute) {
      throw mappingError('MAPPING_INVALID', file, label, `spelled differently from "${previous.key}"`);
    }
    if (previous.whole || path.subAttribute === null) {
      throw mappingError('MAPPING_INVALID', file, label, `overlaps "${previous.key}"`);
    }
    const sub = path.subAttribute.toLowerCase();
    if (previous.subAttributes.has(sub)) throw mappingError('MAPPING_INVALID', file, label, `overlaps "${previous.key}"`);
    previous.subAttributes.add(sub);
  }
}

/** Turns a validated mapping file into a ready-to-apply mapping; every expression is compiled here, once. */
export function compileMapping(file: string, definition: MappingFile): LoadedMapping {
  const attributes = Object.entries(definition.user).map(([key, text]): CompiledAttribute => {
    const label = `user.${key}`;
    const path = pathOrFail(file, label, key);
    return { key, path, expression: compileExpression(file, label, text) };
  });
  checkOverlaps(file, attributes);
  for (const needed of ['userName', 'externalId']) {
    if (!attributes.some(({ path }) => path.schema === null && path.attribute === needed)) {
      throw mappingError('MAPPING_INVALID', file, `user.${needed}`, 'is missing: every account needs one');
    }
  }
  const required = (definition.required ?? []).map((key, index) => pathOrFail(file, `required[${index}]`, key));
  for (const [index, path] of required.entries()) {
    const formatted = formatAttributePath(path).toLowerCase();
    const mapped = attributes.some(({ path: own }) => {
      const written = formatAttributePath(own).toLowerCase();
      return written === formatted || formatted.startsWith(`${written}.`) || written.startsWith(`${formatted}.`);
    });
    if (!mapped) throw mappingError('MAPPING_INVALID', file, `required[${index}]`, 'is not mapped under "user"');
  }

  const compiled: CompiledExpressions = {
    file,
    attributes,
    groups: definition.groups === undefined ? null : compileExpression(file, 'groups', definition.groups),
    manager: definition.manager === undefined ? null : compileExpression(file, 'manager', definition.manager),
    required,
  };
  const profile: TargetProfile = definition.profile;
  const name = definition.name ?? basename(file, extname(file));

  const mapping: LoadedMapping = {
    name,
    file,
    profile: Object.freeze({ ...profile, userLookup: [...profile.userLookup] }),
    policy: Object.freeze({ ...definition.policy }),
    apply: (record, context) => applyMapping(compiled, record, context),
  };
  return Object.freeze(mapping);
}
