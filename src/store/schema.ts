import type { Generated } from 'kysely';

/** Times are Unix milliseconds; JSON columns hold text so SQLite and PostgreSQL read the same. */
export interface DeliveriesTable {
  id: Generated<number>;
  source: string;
  delivery_id: string | null;
  received_at: number;
  event_type: string | null;
  outcome: string;
  error: string | null;
  /** Kept for rejected deliveries only, for inspection. */
  body: string | null;
  correlation_id: string;
}

export interface EmployeesTable {
  employee_id: string;
  source: string;
  record: string;
  version: number | null;
  source_ts: number | null;
  manager_id: string | null;
  updated_at: number;
}

export interface FetchesTable {
  source: string;
  employee_id: string;
  requested_at: number;
  attempts: number;
  next_attempt_at: number;
  lease_until: number;
  last_error: string | null;
  correlation_id: string;
}

export interface PairsTable {
  target: string;
  employee_id: string;
  dirty: number;
  generation: number;
  dirty_since: number | null;
  next_attempt_at: number;
  attempts: number;
  lease_owner: string | null;
  lease_until: number;
  next_check_at: number | null;
  scim_id: string | null;
  applied_hash: string | null;
  applied_user: string | null;
  applied_groups: string | null;
  intended_groups: string | null;
  state: string;
  status: string;
  last_error: string | null;
  inactive_since: number | null;
  correlation_id: string | null;
  updated_at: number;
}

export interface GroupsTable {
  target: string;
  display_name: string;
  scim_id: string;
}

export interface TargetsTable {
  name: string;
  paused_reason: string | null;
  paused_at: number | null;
  paused_fingerprint: string | null;
}

export interface AuditTable {
  seq: Generated<number>;
  at: number;
  correlation_id: string;
  action: string;
  outcome: string;
  source: string | null;
  target: string | null;
  employee_id: string | null;
  details: string;
  prev_hash: string;
  hash: string;
}

export interface Database {
  deliveries: DeliveriesTable;
  employees: EmployeesTable;
  fetches: FetchesTable;
  pairs: PairsTable;
  groups: GroupsTable;
  targets: TargetsTable;
  audit: AuditTable;
}
