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

  /** A token's record as an account export shows it (never its hash). */
  record(id: string): { id: string; description: string; scope: string[]; created_at: string } | undefined {
    const row = this.store.db.prepare("SELECT id, description, scope, created_at FROM api_tokens WHERE id = ?").get(id) as
      | { id: string; description: string; scope: string; created_at: string }
      | undefined;
    return row ? { ...row, scope: tokenScopeSchema.parse(JSON.parse(row.scope)) } : undefined;
  }

  /** Removes a token: its hash, description and scope; it authenticates no more. */
  delete(id: string): boolean {
    return Number(this.store.db.prepare("DELETE FROM api_tokens WHERE id = ?").run(id).changes) > 0;
  }

  findByHash(tokenHash: string): TokenRecord | undefined {
    const row = this.store.db.prepare("SELECT id, description, scope FROM api_tokens WHERE token_hash = ?").get(tokenHash) as
      | { id: string; description: string; scope: string }
      | undefined;
    return row ? { id: row.id, description: row.description, scope: tokenScopeSchema.parse(JSON.parse(row.scope)) } : undefined;
  }
}
