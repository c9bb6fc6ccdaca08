import { request } from 'undici';
import { BridgeError } from '../domain/errors.js';
import type { Secret } from './secret-ref.js';

export interface OAuth2Options {
  tokenUrl: string;
  clientId: string;
  clientSecret: Secret;
  scope?: string;
}

/**
 * OAuth 2.0 client credentials (RFC 6749 §4.4) for targets that want them. The token is fetched at
 * start-up and refreshed in the background before it expires, so each SCIM request reads it synchronously.
 */
export class OAuth2Token {
  private token = '';
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: OAuth2Options) {}

  value(): string {
    return this.token;
  }

  async start(): Promise<void> {
    await this.refresh();
  }

  stop(): void {
    clearTimeout(this.timer);
  }

  private async refresh(): Promise<void> {
    const body = new URLSearchParams({ grant_type: 'client_credentials', client_id: this.options.clientId, client_secret: this.options.clientSecret.value() });
    if (this.options.scope) body.set('scope', this.options.scope);
    let expiresIn = 300;
    try {
      const res = await request(this.options.tokenUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: body.toString(),
        headersTimeout: 15_000,
        bodyTimeout: 15_000,
      });
      const json = (await res.body.json().catch(() => ({}))) as { access_token?: unknown; expires_in?: unknown };
      if (res.statusCode !== 200 || typeof json.access_token !== 'string') {
        throw new BridgeError('CONFIG_SECRET_UNRESOLVED', `token endpoint answered ${res.statusCode} without an access_token`);
      }
      this.token = json.access_token;
      if (typeof json.expires_in === 'number' && json.expires_in > 30) expiresIn = json.expires_in;
    } catch (error) {
      if (!this.token) throw error instanceof BridgeError ? error : new BridgeError('CONFIG_SECRET_UNRESOLVED', 'token endpoint unreachable', { cause: error });
      expiresIn = 60;
    }
    this.timer = setTimeout(() => void this.refresh().catch(() => undefined), Math.floor(expiresIn * 800));
    this.timer.unref();
  }
}
