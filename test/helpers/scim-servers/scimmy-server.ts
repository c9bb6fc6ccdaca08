/**
 * Standalone scimmy + scimmy-routers service provider on express 5, for end-to-end tests.
 * scimmy supplies parsing, schema validation, filtering and PatchOp; only storage lives here,
 * with the uniqueness and referential rules a real service provider enforces.
 * Run as its own process; prints one JSON line `{"baseUrl","token"}` on stdout once listening.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import SCIMMY from 'scimmy';
import SCIMMYRouters from 'scimmy-routers';
import { exitWithParent } from './lifecycle.js';

exitWithParent();

type Row = Record<string, unknown> & { id: string; meta: { created: Date; lastModified: Date } };
type Member = { value: string; type?: string };
type Next = (err?: unknown) => void;
type ExpressRequest = IncomingMessage & { query: Record<string, unknown> };
/** The slice of express 5 used here; the project carries no @types/express. */
interface ExpressApp {
  (req: IncomingMessage, res: ServerResponse): void;
  use(path: string, handler: ((req: ExpressRequest, res: ServerResponse, next: Next) => void) | SCIMMYRouters): void;
}
const express = createRequire(import.meta.url)('express') as () => ExpressApp;

const token = randomBytes(24).toString('base64url');
const mountPath = '/scim/v2';
const users = new Map<string, Row>();
const groups = new Map<string, Row>();

function scimError(status: number, scimType: string | null, message: string): Error {
  return new SCIMMY.Types.Error(status, scimType ?? '', message);
}

/** scimmy hands handlers schema instances; storing plain JSON keeps rows independent of them. */
function plain(instance: unknown): Record<string, unknown> {
  const { id: _id, meta: _meta, schemas: _schemas, ...rest } = JSON.parse(JSON.stringify(instance)) as Record<string, unknown>;
  return rest;
}

/**
 * Lookup indexes, as any real service provider keeps: lower-cased values of the attributes clients
 * search on. They only narrow the candidates; scimmy's own Filter.match still decides every match,
 * so filter semantics stay exactly the library's while a 10,000-user tenant stays fast.
 */
const indexed = ['id', 'userName', 'externalId', 'displayName'] as const;
const indexes = new Map<Map<string, Row>, Map<string, Map<string, Set<string>>>>();

function indexOf(rows: Map<string, Row>, attr: string): Map<string, Set<string>> {
  let byAttr = indexes.get(rows);
  if (!byAttr) indexes.set(rows, (byAttr = new Map()));
  let index = byAttr.get(attr);
  if (!index) byAttr.set(attr, (index = new Map()));
  return index;
}

function reindex(rows: Map<string, Row>, before: Row | undefined, after: Row | undefined): void {
  for (const attr of indexed) {
    const index = indexOf(rows, attr);
    const old = before?.[attr];
    if (typeof old === 'string') index.get(old.toLowerCase())?.delete(before!.id);
    const value = after?.[attr];
    if (typeof value === 'string') {
      const key = value.toLowerCase();
      if (!index.has(key)) index.set(key, new Set());
      index.get(key)!.add(after!.id);
    }
  }
}

function candidates(resource: { id?: string; filter?: unknown }, rows: Map<string, Row>): Row[] {
  const expressions = Array.isArray(resource.filter) ? (resource.filter as Array<Record<string, unknown>>) : [];
  const only = expressions.length === 1 ? expressions[0] : undefined;
  for (const attr of indexed) {
    const test = only?.[attr];
    if (Array.isArray(test) && test[0] === 'eq' && typeof test[1] === 'string') {
      const ids = indexOf(rows, attr).get(test[1].toLowerCase()) ?? new Set<string>();
      return [...ids].map((id) => rows.get(id)!).filter(Boolean);
    }
  }
  return [...rows.values()];
}

function select(resource: { id?: string; filter?: { match(values: unknown[]): unknown[] } }, rows: Map<string, Row>): Row[] {
  const all = candidates(resource, rows);
  // scimmy turns a path id into `id eq "<id>"`, so one Filter.match covers both GET forms.
  const found = (resource.filter ? resource.filter.match(all) : all) as Row[];
  if (resource.id && found.length === 0) throw scimError(404, null, `Resource ${resource.id} not found`);
  return found;
}

function assertUnique(rows: Map<string, Row>, selfId: string | undefined, attr: string, value: unknown, caseExact: boolean): void {
  if (typeof value !== 'string') return;
  for (const id of indexOf(rows, attr).get(value.toLowerCase()) ?? []) {
    const other = rows.get(id)?.[attr];
    if (id !== selfId && typeof other === 'string' && (caseExact ? other === value : true)) {
      throw scimError(409, 'uniqueness', `${attr} "${value}" is already in use`);
    }
  }
}

function save(rows: Map<string, Row>, id: string | undefined, data: Record<string, unknown>): Row {
  const now = new Date();
  const existing = id === undefined ? undefined : rows.get(id);
  if (id !== undefined && !existing) throw scimError(404, null, `Resource ${id} not found`);
  const row: Row = { ...data, id: id ?? randomUUID(), meta: { created: existing?.meta.created ?? now, lastModified: now } };
  rows.set(row.id, row);
  reindex(rows, existing, row);
  return row;
}

function withMemberDisplay(group: Row): Row {
  const members = (group.members as Member[] | undefined) ?? [];
  return {
    ...group,
    members: members.map((m) => {
      const target = users.get(m.value) ?? groups.get(m.value);
      const display = target?.displayName ?? target?.userName;
      return typeof display === 'string' ? { ...m, display } : m;
    }),
  };
}

SCIMMY.Resources.declare(SCIMMY.Resources.User.extend(SCIMMY.Schemas.EnterpriseUser, false))
  .ingress((resource, instance) => {
    const data = plain(instance);
    assertUnique(users, resource.id, 'userName', data.userName, false);
    assertUnique(users, resource.id, 'externalId', data.externalId, true);
    return save(users, resource.id, data) as unknown as SCIMMY.Schemas.User;
  })
  .egress((resource) => select(resource, users) as unknown as SCIMMY.Schemas.User[])
  .degress((resource) => {
    const gone = resource.id ? users.get(resource.id) : undefined;
    if (!resource.id || !users.delete(resource.id)) throw scimError(404, null, `Resource ${resource.id} not found`);
    reindex(users, gone, undefined);
    for (const group of groups.values()) {
      group.members = ((group.members as Member[] | undefined) ?? []).filter((m) => m.value !== resource.id);
    }
  });

SCIMMY.Resources.declare(SCIMMY.Resources.Group)
  .ingress((resource, instance) => {
    const data = plain(instance);
    assertUnique(groups, resource.id, 'displayName', data.displayName, false);
    assertUnique(groups, resource.id, 'externalId', data.externalId, true);
    const members = ((data.members as Member[] | undefined) ?? []).map((m): Member => {
      const type = users.has(m.value) ? 'User' : groups.has(m.value) ? 'Group' : undefined;
      if (!type) throw scimError(400, 'invalidValue', `Member ${m.value} does not exist`);
      return { value: m.value, type };
    });
    // Adding someone already in the group is a no-op, not a duplicate entry.
    const unique = [...new Map(members.map((m) => [m.value, m])).values()];
    return withMemberDisplay(save(groups, resource.id, { ...data, members: unique })) as unknown as SCIMMY.Schemas.Group;
  })
  .egress((resource) => select(resource, groups).map(withMemberDisplay) as unknown as SCIMMY.Schemas.Group[])
  .degress((resource) => {
    const gone = resource.id ? groups.get(resource.id) : undefined;
    if (!resource.id || !groups.delete(resource.id)) throw scimError(404, null, `Resource ${resource.id} not found`);
    reindex(groups, gone, undefined);
  });

const app = express();
// Express 5 recomputes req.query on every access, so scimmy-routers' in-place conversion of
// startIndex/count to numbers is lost and every list silently returns page one. Pinning the
// parsed object lets paging work as the routers intend.
app.use(mountPath, (req, _res, next) => {
  Object.defineProperty(req, 'query', { value: { ...req.query }, writable: true, configurable: true });
  next();
});

const server = createServer(app);
await new Promise<void>((resolve, reject) => {
  server.once('error', reject);
  server.listen(0, '127.0.0.1', () => resolve());
});
const { port } = server.address() as AddressInfo;
const origin = `http://127.0.0.1:${port}`;

app.use(
  mountPath,
  new SCIMMYRouters({
    type: 'bearer',
    handler: (req) => {
      if (req.header('authorization') !== `Bearer ${token}`) throw new Error('Invalid or missing bearer token');
      return 'scim-client';
    },
    baseUri: () => origin,
  }),
);

process.stdout.write(`${JSON.stringify({ baseUrl: `${origin}${mountPath}`, token })}\n`);
