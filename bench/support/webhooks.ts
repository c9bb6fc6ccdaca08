import { Agent, request } from 'undici';
import { standardWebhookHeaders } from '../../test/helpers/signing.js';

const departments = ['Engineering', 'Sales', 'Customer Success', 'Finance', 'People', 'Marketing', 'Legal', 'Product Design', 'Support', 'Operations'];

export function employee(i: number, version = 1): Record<string, unknown> {
  return {
    id: `E-${100000 + i}`,
    version,
    status: 'active',
    givenName: `Given${i}`,
    familyName: `Family${i}`,
    workEmail: `user${i}@example.com`,
    title: 'Engineer',
    department: departments[i % departments.length],
    employeeNumber: String(100000 + i),
    startDate: '2026-01-05',
  };
}

let sequence = 0;

export function signedDelivery(secret: string, data: Record<string, unknown>): { headers: Record<string, string>; body: string } {
  sequence += 1;
  const id = `msg_bench_${process.pid}_${sequence}`;
  const body = JSON.stringify({ type: 'employee.upserted', timestamp: new Date().toISOString(), data });
  return { headers: standardWebhookHeaders(id, Math.floor(Date.now() / 1000), body, secret), body };
}

const agent = new Agent({ connections: 64, keepAliveTimeout: 30_000 });

export async function post(url: string, delivery: { headers: Record<string, string>; body: string }): Promise<number> {
  for (let attempt = 0; ; attempt += 1) {
    const res = await request(`${url}/webhooks/hr`, { method: 'POST', headers: delivery.headers, body: delivery.body, dispatcher: agent });
    await res.body.dump();
    if (res.statusCode < 500 || attempt >= 5) return res.statusCode;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Sends deliveries with at most `concurrency` in flight; every one must be acknowledged with 2xx. */
export async function sendAll(url: string, deliveries: Array<{ headers: Record<string, string>; body: string }>, concurrency = 32): Promise<void> {
  let next = 0;
  const failures: number[] = [];
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < deliveries.length) {
        const d = deliveries[next++]!;
        const status = await post(url, d);
        if (status >= 300) failures.push(status);
      }
    }),
  );
  if (failures.length) throw new Error(`${failures.length} deliveries refused (e.g. ${failures[0]})`);
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
