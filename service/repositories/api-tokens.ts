// API tokens at rest: SHA-256 hashes of the values (shown once, at creation), each scoped to one owner/app.
import type { AppKey, Store } from "../store.ts";

export interface TokenRecord extends AppKey {
  readonly id: string;
  readonly description: string;
}

export class ApiTokens {
  constructor(private readonly store: Store) {}

  insert(token: TokenRecord & { tokenHash: string }): void {
    this.store.db
      .prepare("INSERT INTO api_tokens (id, token_hash, owner_name, app_name, description, created_at) VALUES (?, ?, ?, ?, ?, ?)")
      .run(token.id, token.tokenHash, token.owner, token.app, token.description, new Date().toISOString());
  }

  findByHash(tokenHash: string): TokenRecord | undefined {
    const row = this.store.db
      .prepare("SELECT id, owner_name AS owner, app_name AS app, description FROM api_tokens WHERE token_hash = ?")
      .get(tokenHash) as TokenRecord | undefined;
    return row ? { ...row } : undefined;
  }
}
