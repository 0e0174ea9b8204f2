// API tokens at rest: SHA-256 hashes of the values (shown once, at creation), each with its scope.
import { tokenScopeSchema, type TokenScope } from "../../domain/index.ts";
import type { Store } from "../store.ts";

export interface TokenRecord {
  readonly id: string;
  readonly description: string;
  /** The apps the token may touch (domain/token-scope.ts). */
  readonly scope: TokenScope;
}

export class ApiTokens {
  constructor(private readonly store: Store) {}

  insert(token: TokenRecord & { tokenHash: string }): void {
    // owner_name / app_name keep the first entry, as the columns held before scopes.
    const [owner, app] = token.scope[0]!.split("/") as [string, string];
    this.store.db
      .prepare("INSERT INTO api_tokens (id, token_hash, owner_name, app_name, description, created_at, scope) VALUES (?, ?, ?, ?, ?, ?, ?)")
      .run(token.id, token.tokenHash, owner, app, token.description, new Date().toISOString(), JSON.stringify(token.scope));
  }

  findByHash(tokenHash: string): TokenRecord | undefined {
    const row = this.store.db.prepare("SELECT id, description, scope FROM api_tokens WHERE token_hash = ?").get(tokenHash) as
      | { id: string; description: string; scope: string }
      | undefined;
    return row ? { id: row.id, description: row.description, scope: tokenScopeSchema.parse(JSON.parse(row.scope)) } : undefined;
  }
}
