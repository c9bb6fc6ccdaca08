import { readFile } from 'node:fs/promises';
import { LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { BridgeError, errorCatalogue, isBridgeError } from '../domain/errors.js';
import { compileMapping } from './compile.js';
import { mappingError } from './fail.js';
import { mappingFileSchema, type LoadedMapping } from './schema.js';

function issuePath(issue: z.core.$ZodIssue): string | null {
  if (issue.path.length === 0) return null;
  return issue.path
    .map((part, index) => (typeof part === 'number' ? `[${part}]` : `${index === 0 ? '' : '.'}${String(part)}`))
    .join('');
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((key) => `"${key}"`).join(', ')}`;
  return issue.message;
}

/**
 * Reads, validates and compiles one mapping file. Every problem is a MAPPING_INVALID naming the file,
 * the attribute and what is wrong, so a bad mapping stops start-up rather than failing syncs later.
 */
export async function loadMapping(file: string): Promise<LoadedMapping> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : 'file cannot be read';
    throw mappingError('MAPPING_INVALID', file, null, reason, error);
  }

  const lineCounter = new LineCounter();
  const document = parseDocument(text, { uniqueKeys: true, prettyErrors: false, lineCounter });
  const [yamlError] = document.errors;
  if (yamlError) {
    const where = lineCounter.linePos(yamlError.pos[0]);
    const position = ` at line ${where.line}, column ${where.col}`;
    throw mappingError('MAPPING_INVALID', file, null, `YAML error${position}: ${yamlError.message}`, yamlError);
  }

  const parsed = mappingFileSchema.safeParse(document.toJS());
  if (!parsed.success) {
    const [issue] = parsed.error.issues;
    const problem = issue ? describeIssue(issue) : 'not a mapping';
    throw mappingError('MAPPING_INVALID', file, issue ? issuePath(issue) : null, problem, parsed.error);
  }
  return compileMapping(file, parsed.data);
}

/**
 * Loads each distinct file once, keyed by the path as given. All files are checked so one start-up
 * reports every broken mapping, not just the first.
 */
export async function loadMappings(files: readonly string[]): Promise<Map<string, LoadedMapping>> {
  const unique = [...new Set(files)];
  const settled = await Promise.allSettled(unique.map((file) => loadMapping(file)));
  const loaded = new Map<string, LoadedMapping>();
  const failures: BridgeError[] = [];
  for (const [index, outcome] of settled.entries()) {
    if (outcome.status === 'fulfilled') loaded.set(unique[index] ?? '', outcome.value);
    else if (isBridgeError(outcome.reason)) failures.push(outcome.reason);
    else throw outcome.reason;
  }
  if (failures.length === 1 && failures[0]) throw failures[0];
  if (failures.length > 1) {
    const detail = failures.map((failure) => failure.message.replace(`${errorCatalogue.MAPPING_INVALID.message}: `, '')).join('; ');
    throw new BridgeError('MAPPING_INVALID', detail, { cause: failures, details: { files: failures.map((f) => f.details.file) } });
  }
  return loaded;
}
