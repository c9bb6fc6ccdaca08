import type jsonata from 'jsonata';
import type { EmployeeRecord } from '../domain/employee.js';
import { coreUserSchema, formatAttributePath, type AttributePath } from './attributes.js';
import { bindings, evaluateExpression } from './expression.js';
import { mappingError } from './fail.js';
import { OutputProblem, prune, toJson, withoutNulls, type Json, type JsonObject } from './json.js';
import type { MappedAccount, MappingContext } from './types.js';
import { validateUser } from './validate.js';

export interface CompiledAttribute {
  /** The key as written in the file, for messages. */
  key: string;
  path: AttributePath;
  expression: jsonata.Expression;
}

export interface CompiledExpressions {
  file: string;
  attributes: CompiledAttribute[];
  groups: jsonata.Expression | null;
  manager: jsonata.Expression | null;
  required: AttributePath[];
}

function outputError(file: string, prefix: string, problem: OutputProblem): Error {
  const attribute = problem.at ? `${prefix}.${problem.at}`.replace(/\.\[/g, '[') : prefix;
  return mappingError('MAPPING_OUTPUT_INVALID', file, attribute, problem.message, problem);
}

function asJson(file: string, label: string, value: unknown): Json | undefined {
  try {
    return toJson(value);
  } catch (error) {
    if (error instanceof OutputProblem) throw outputError(file, label, error);
    throw error;
  }
}

function place(core: JsonObject, extensions: Map<string, JsonObject>, path: AttributePath, value: Json): void {
  let container = core;
  if (path.schema !== null) {
    container = extensions.get(path.schema) ?? {};
    extensions.set(path.schema, container);
  }
  if (path.subAttribute === null) {
    container[path.attribute] = value;
    return;
  }
  const parent = container[path.attribute];
  const complex: JsonObject = typeof parent === 'object' && parent !== null && !Array.isArray(parent) ? parent : {};
  complex[path.subAttribute] = value;
  container[path.attribute] = complex;
}

function assemble(core: JsonObject, extensions: Map<string, JsonObject>, active: boolean): JsonObject {
  const body: JsonObject = {};
  const kept = new Map<string, Json>();
  for (const [schema, object] of extensions) {
    const value = prune(object);
    if (value !== undefined) kept.set(schema, value);
  }
  body.schemas = [coreUserSchema, ...kept.keys()];
  const coreValue = prune(core);
  if (coreValue !== undefined && typeof coreValue === 'object' && !Array.isArray(coreValue)) {
    Object.assign(body, coreValue);
  }
  body.active = active;
  for (const [schema, value] of kept) body[schema] = value;
  return body;
}

function groupNames(file: string, value: Json | undefined): string[] {
  if (value === undefined || value === null) return [];
  const list = Array.isArray(value) ? value : [value];
  const names: string[] = [];
  list.forEach((item, index) => {
    if (typeof item !== 'string') {
      throw mappingError('MAPPING_OUTPUT_INVALID', file, `groups[${index}]`, 'must be a group name (a string)');
    }
    if (item !== '' && !names.includes(item)) names.push(item);
  });
  return names;
}

function managerId(file: string, value: Json | undefined): string | null {
  if (value === undefined || value === null || value === '') return null;
  if (typeof value !== 'string') {
    throw mappingError('MAPPING_OUTPUT_INVALID', file, 'manager', "must be the manager's HR id as a string");
  }
  return value;
}

/** Evaluates a compiled mapping for one record: pure apart from awaiting jsonata, never recompiles. */
export async function applyMapping(
  compiled: CompiledExpressions,
  record: EmployeeRecord,
  context: MappingContext,
): Promise<MappedAccount> {
  const { file } = compiled;
  const input = withoutNulls(record);
  const values = bindings(context.active, context.today);
  const core: JsonObject = {};
  const extensions = new Map<string, JsonObject>();

  for (const attribute of compiled.attributes) {
    const label = `user.${attribute.key}`;
    const raw = await evaluateExpression(file, label, attribute.expression, input, values);
    const value = asJson(file, `user.${formatAttributePath(attribute.path)}`, raw);
    if (value !== undefined) place(core, extensions, attribute.path, value);
  }

  const user = assemble(core, extensions, context.active);
  try {
    validateUser(user, compiled.required);
  } catch (error) {
    if (error instanceof OutputProblem) throw outputError(file, 'user', error);
    throw error;
  }

  const groups = compiled.groups
    ? groupNames(file, asJson(file, 'groups', await evaluateExpression(file, 'groups', compiled.groups, input, values)))
    : [];
  const manager = compiled.manager
    ? managerId(file, asJson(file, 'manager', await evaluateExpression(file, 'manager', compiled.manager, input, values)))
    : null;

  return { user, groups, managerEmployeeId: manager };
}
