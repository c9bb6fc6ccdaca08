/**
 * Looks for credentials in what the bridge wrote (log lines) and answered (error bodies). Secrets are
 * few and searched as substrings; signatures are many (one per delivery), so each line is cut into
 * base64 runs that are looked up in a set, which keeps a long run linear in the size of the logs.
 */
export interface SecretHit {
  what: string;
  where: string;
  /** The surroundings with the secret itself masked, so the failure message does not leak it again. */
  excerpt: string;
}

const BASE64_RUN = /[A-Za-z0-9+/]{16,}={0,2}/g;

export class SecretScanner {
  private readonly secrets = new Map<string, string>();
  private readonly signatures = new Set<string>();
  private signatureLength = 0;
  readonly hits: SecretHit[] = [];
  scanned = 0;

  /** A secret and the forms it may be written in (a `whsec_` secret also as its bare base64 part). */
  addSecret(what: string, value: string): void {
    if (value.length < 8) throw new Error(`${what}: too short to scan for without false hits`);
    this.secrets.set(value, what);
    if (value.startsWith('whsec_')) this.secrets.set(value.slice(6), `${what} (base64 part)`);
  }

  /** A `v1,<base64>` header value, or several space-separated ones. */
  addSignature(header: string): void {
    for (const part of header.split(' ')) {
      const b64 = part.includes(',') ? part.slice(part.indexOf(',') + 1) : part;
      if (b64.length >= 16) {
        this.signatures.add(b64);
        this.signatureLength = Math.max(this.signatureLength, b64.length);
      }
    }
  }

  scan(where: string, text: string): void {
    this.scanned += 1;
    for (const [value, what] of this.secrets) {
      const at = text.indexOf(value);
      if (at >= 0) this.hit(what, where, text, at, value.length);
    }
    if (this.signatures.size === 0) return;
    for (const match of text.matchAll(BASE64_RUN)) {
      const run = match[0];
      if (this.signatures.has(run)) {
        this.hit('a webhook signature', where, text, match.index, run.length);
        continue;
      }
      // A signature glued to other base64 characters is still a leak.
      if (run.length > this.signatureLength) {
        for (const sig of this.signatures) {
          const at = run.indexOf(sig);
          if (at >= 0) {
            this.hit('a webhook signature', where, text, match.index + at, sig.length);
            break;
          }
        }
      }
    }
  }

  private hit(what: string, where: string, text: string, at: number, length: number): void {
    if (this.hits.length >= 50) return;
    const excerpt = `${text.slice(Math.max(0, at - 80), at)}<${what}>${text.slice(at + length, at + length + 80)}`;
    this.hits.push({ what, where, excerpt });
  }

  report(): string {
    return this.hits.map((h) => `${h.what} in ${h.where}: ...${h.excerpt}...`).join('\n');
  }
}
