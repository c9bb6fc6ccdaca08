import type { Kysely } from 'kysely';
import { employeesNamed } from './employee-locks.js';
import type { Dialect } from './migrations.js';
import { markPairsDirty, pairKey, type DirtyPair } from './pairs.js';
import { executeForRows } from './row-statements.js';
import { upsertEmployees } from './employees.js';
import type { Database, EmployeesTable } from './schema.js';
import type { IntakeInput } from './store.js';

const deliveryKey = (source: string, deliveryId: string) => `${source}\u0000${deliveryId}`;

/**
 * The statements the deliveries committed together can share: one insert of all their delivery rows,
 * one read of the employees they name, one upsert of the records they write and one of the pairs they
 * mark dirty. Under load a commit carries tens of deliveries, and per-delivery statements were most of
 * the cost of a webhook.
 * Each delivery is still decided on its own and in arrival order; the batch only saves round trips.
 */
export class IntakeBatch {
  private accepted: Promise<Set<string>> | undefined;
  private rows: Promise<Map<string, string | null>> | undefined;
  private read: Map<string, string | null> | undefined;
  /** employee -> the row to store, in the order first written; the last write of an employee wins. */
  private readonly written = new Map<string, EmployeesTable>();
  private readonly claimed = new Set<string>();
  /** (target, employee) -> the correlation id of the latest delivery that marked it dirty. */
  private readonly dirty = new Map<string, DirtyPair>();

  constructor(
    private readonly trx: Kysely<Database>,
    private readonly dialect: Dialect,
    private readonly inputs: readonly IntakeInput[],
  ) {}

  /** Whether this delivery is new. The first of two deliveries with one id in a batch is the new one. */
  async isNew(input: IntakeInput): Promise<boolean> {
    this.accepted ??= this.insertDeliveries();
    const key = deliveryKey(input.source, input.deliveryId);
    if (!(await this.accepted).has(key) || this.claimed.has(key)) return false;
    this.claimed.add(key);
    return true;
  }

  /** The stored record of an employee as this transaction last saw it (null: none), or undefined if not read. */
  async storedRecord(employeeId: string): Promise<string | null | undefined> {
    this.rows ??= this.readEmployees();
    return (await this.rows).get(employeeId);
  }

  /**
   * Queues the record to store, and a later delivery in the batch decides against it. Only after
   * `storedRecord` has answered for this employee.
   */
  write(row: EmployeesTable): void {
    this.read?.set(row.employee_id, row.record);
    this.written.set(row.employee_id, row);
  }

  markDirty(targets: readonly string[], employeeId: string, now: number, correlationId: string): void {
    for (const target of targets) {
      const key = pairKey(target, employeeId);
      this.dirty.delete(key);
      this.dirty.set(key, { target, employeeId, correlationId, now });
    }
  }

  /** Writes the records and the pairs marked dirty; runs after every delivery of the batch, in its transaction. */
  async finish(): Promise<void> {
    await upsertEmployees(this.trx, this.dialect, [...this.written.values()]);
    this.written.clear();
    await markPairsDirty(this.trx, this.dialect, [...this.dirty.values()]);
    this.dirty.clear();
  }

  private async insertDeliveries(): Promise<Set<string>> {
    const rows = this.inputs.map((i) => ({ source: i.source, delivery_id: i.deliveryId, received_at: i.receivedAt, event_type: i.eventType, outcome: 'accepted', error: null, body: null, correlation_id: i.correlationId }));
    const inserted = await executeForRows(this.trx, this.dialect, 'deliveries.insert', rows, (db, part) =>
      db
        .insertInto('deliveries')
        .values(part)
        .onConflict((oc) => oc.columns(['source', 'delivery_id']).where('delivery_id', 'is not', null).doNothing())
        .returning(['source', 'delivery_id']),
    );
    const accepted = new Set<string>();
    for (const r of inserted) if (r.delivery_id !== null) accepted.add(deliveryKey(r.source, r.delivery_id));
    return accepted;
  }

  private async readEmployees(): Promise<Map<string, string | null>> {
    // The employees the batch's deliveries name, the same ones it locks on PostgreSQL.
    const ids = employeesNamed(this.inputs);
    const rows = new Map<string, string | null>([...ids].map((id) => [id, null]));
    const found = await executeForRows(this.trx, this.dialect, 'employees.read', [...ids], (db, part) => db.selectFrom('employees').select(['employee_id', 'record']).where('employee_id', 'in', part));
    for (const r of found) rows.set(r.employee_id, r.record);
    this.read = rows;
    return rows;
  }
}
