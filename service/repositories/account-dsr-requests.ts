// App Center account data-subject requests at rest: the API token each concerns, status, and an export's sealed document.
import type { AccountDsrKind, AccountDsrStatus } from "../../domain/index.ts";
import type { Store } from "../store.ts";

export interface AccountDsrRow {
  token: string;
  kind: AccountDsrKind;
  api_token_id: string;
  status: AccountDsrStatus;
  message: string;
  created_at: number;
  run_at: number;
  finished_at: number | null;
  document_sealed: string | null;
  document_expires_at: number | null;
}

export class AccountDsrRequests {
  constructor(private readonly store: Store) {}

  insert(row: Pick<AccountDsrRow, "token" | "kind" | "api_token_id" | "message" | "created_at" | "run_at">): void {
    this.store.db
      .prepare("INSERT INTO account_dsr_requests (token, kind, api_token_id, status, message, created_at, run_at) VALUES (?, ?, ?, 'Queued', ?, ?, ?)")
      .run(row.token, row.kind, row.api_token_id, row.message, row.created_at, row.run_at);
  }

  find(kind: AccountDsrKind, token: string): AccountDsrRow | undefined {
    return this.store.db.prepare("SELECT * FROM account_dsr_requests WHERE kind = ? AND token = ?").get(kind, token) as AccountDsrRow | undefined;
  }

  /** Moves a request from one status to another; false when it was not in `from` any more (cancelled, taken by another process). */
  move(token: string, from: AccountDsrStatus, to: AccountDsrStatus, message: string, now: number): boolean {
    const finished = to === "Completed" || to === "Failed" || to === "None" ? now : null;
    return Number(this.store.db.prepare("UPDATE account_dsr_requests SET status = ?, message = ?, finished_at = ? WHERE token = ? AND status = ?").run(to, message, finished, token, from).changes) > 0;
  }

  setDocument(token: string, sealed: string, expiresAt: number): void {
    this.store.db.prepare("UPDATE account_dsr_requests SET document_sealed = ?, document_expires_at = ? WHERE token = ?").run(sealed, expiresAt, token);
  }

  /** The account is deleted: no export of it keeps its document. */
  dropDocuments(apiTokenId: string): void {
    this.store.db.prepare("UPDATE account_dsr_requests SET document_sealed = NULL WHERE api_token_id = ?").run(apiTokenId);
  }
}
