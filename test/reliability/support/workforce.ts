/**
 * A synthetic workforce: signed-delivery plans for N employees, and the SCIM state their last
 * acknowledged records call for under the generic mapping (active, title, one department group).
 */
export type Json = Record<string, unknown>;
export type Status = 'active' | 'leave' | 'terminated';

export interface HrRecord extends Json {
  id: string;
  version: number;
  status: Status;
  title: string;
  department: string;
  workEmail: string;
}

export interface PlannedDelivery {
  /** The webhook-id; also the HRIS's own name for the delivery in failure messages. */
  id: string;
  record: HrRecord;
}

const TITLES = ['Engineer', 'Senior Engineer', 'Analyst', 'Designer', 'Manager', 'Director', 'Intern', 'Recruiter'];
const DEPARTMENTS = ['Engineering', 'Sales', 'Product Design', 'Finance', 'People Ops', 'Support'];

export function deptGroup(department: string): string {
  return `dept-${department.trim().toLowerCase().replace(/\s+/g, '-')}`;
}

function baseRecord(id: string, n: number, rand: () => number): HrRecord {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)]!;
  return {
    id,
    version: 1,
    status: 'active',
    givenName: `Given${n}`,
    familyName: `Family${n}`,
    preferredName: null,
    workEmail: `${id.toLowerCase()}@example.com`,
    title: pick(TITLES),
    department: pick(DEPARTMENTS),
    division: 'Ops',
    costCenter: `CC-${n % 7}`,
    employeeNumber: String(n),
    managerId: null,
    startDate: '2024-01-08',
    endDate: null,
  };
}

function nextRecord(prev: HrRecord, rand: () => number): HrRecord {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)]!;
  const next: HrRecord = { ...prev, version: prev.version + 1 };
  const roll = rand();
  if (prev.status === 'terminated') {
    // Rehires happen, and so do corrections sent after the leaver's record.
    if (roll < 0.5) next.status = 'active';
    else next.title = pick(TITLES);
  } else if (roll < 0.12) {
    next.status = 'terminated';
  } else if (roll < 0.18) {
    next.status = prev.status === 'leave' ? 'active' : 'leave';
  } else if (roll < 0.5) {
    next.department = pick(DEPARTMENTS.filter((d) => d !== prev.department));
  } else {
    next.title = pick(TITLES.filter((t) => t !== prev.title));
  }
  return next;
}

/**
 * `count` deliveries for `employees` people: each employee's first is an active hire; the rest are
 * spread at random, each one version newer than that employee's previous. The list is shuffled, so
 * one employee's deliveries also arrive out of order.
 */
export function planDeliveries(runId: string, employees: number, count: number, rand: () => number): PlannedDelivery[] {
  const latest: HrRecord[] = [];
  const plan: PlannedDelivery[] = [];
  for (let i = 0; i < employees; i += 1) {
    const id = `E-${String(i + 1).padStart(5, '0')}`;
    latest.push(baseRecord(id, i + 1, rand));
    plan.push({ id: `msg_${runId}_${plan.length + 1}`, record: latest[i]! });
  }
  while (plan.length < count) {
    const i = Math.floor(rand() * employees);
    latest[i] = nextRecord(latest[i]!, rand);
    plan.push({ id: `msg_${runId}_${plan.length + 1}`, record: latest[i]! });
  }
  for (let i = plan.length - 1; i > 0; i -= 1) {
    const j = Math.floor(rand() * (i + 1));
    [plan[i], plan[j]] = [plan[j]!, plan[i]!];
  }
  return plan;
}

/** The newest acknowledged record of each employee: what the bridge must converge to. */
export function lastAcknowledged(acknowledged: readonly PlannedDelivery[]): Map<string, PlannedDelivery> {
  const out = new Map<string, PlannedDelivery>();
  for (const d of acknowledged) {
    const have = out.get(d.record.id);
    if (!have || d.record.version > have.record.version) out.set(d.record.id, d);
  }
  return out;
}

/**
 * Every way the target differs from what the records call for, one line each naming the employee,
 * the delivery whose record decides and what differs. Empty when converged.
 */
export function differences(
  expected: ReadonlyMap<string, PlannedDelivery>,
  users: ReadonlyArray<Json>,
  groups: ReadonlyArray<Json>,
): string[] {
  const problems: string[] = [];
  const byExternalId = new Map<string, Json[]>();
  for (const u of users) {
    const key = String(u.externalId);
    byExternalId.set(key, [...(byExternalId.get(key) ?? []), u]);
  }
  const groupsOf = new Map<string, string[]>();
  for (const g of groups) {
    const members = (g.members as Array<{ value: string }> | undefined) ?? [];
    for (const m of members) groupsOf.set(m.value, [...(groupsOf.get(m.value) ?? []), String(g.displayName)]);
  }
  for (const [externalId, accounts] of byExternalId) {
    if (!expected.has(externalId)) problems.push(`${externalId}: ${accounts.length} account(s) for an employee no delivery named`);
  }
  for (const [employeeId, delivery] of expected) {
    const r = delivery.record;
    const why = `${employeeId}: delivery ${delivery.id} (version ${r.version}, ${r.status}, "${r.title}", ${r.department})`;
    const accounts = byExternalId.get(employeeId) ?? [];
    if (accounts.length > 1) {
      problems.push(`${why}: ${accounts.length} accounts with this externalId (${accounts.map((a) => String(a.id)).join(', ')})`);
      continue;
    }
    const account = accounts[0];
    const wantActive = r.status !== 'terminated';
    if (!account) {
      // A leaver whose hire was never synced has no account, which is correct.
      if (wantActive) problems.push(`${why}: no account`);
      continue;
    }
    if (account.active !== wantActive) problems.push(`${why}: active is ${String(account.active)}, want ${wantActive}`);
    if (account.title !== r.title) problems.push(`${why}: title is ${JSON.stringify(account.title)}, want "${r.title}"`);
    const have = (groupsOf.get(String(account.id)) ?? []).sort();
    const want = wantActive ? [deptGroup(r.department)] : [];
    if (have.join(',') !== want.join(',')) problems.push(`${why}: groups are [${have.join(', ')}], want [${want.join(', ')}]`);
  }
  return problems;
}
