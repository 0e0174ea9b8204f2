// App Center's account data-subject rights (swagger DataSubjectRight_*; domain/account-dsr.ts): an
// export of, or a deletion of, what the service holds about the token holder's account — the API
// token's record — as background items. An export's document is kept sealed and served at a signed
// URL for ACCOUNT_EXPORT_DAYS; a deletion runs after a grace period (cancellable until then) and
// removes the token (it authenticates no more) and any export document of it.
import { randomUUID } from "node:crypto";
import { ACCOUNT_EXPORT_DAYS, type AccountDocument, type AccountDsrKind, type DataSubjectRightStatus } from "../domain/index.ts";
import { ApiError } from "./errors.ts";
import type { TokenRecord } from "./repositories/api-tokens.ts";
import type { AccountDsrRow } from "./repositories/account-dsr-requests.ts";
import type { Repositories } from "./repositories/index.ts";
import type { Runner } from "./runner.ts";
import type { SecretBox } from "./secret-box.ts";
import type { Store } from "./store.ts";

const RUN = "account.dsr";
const DAY = 86_400_000;
/** Default time between an account deletion's request and its execution: the window to cancel it. */
export const DEFAULT_ACCOUNT_DELETE_GRACE_MS = 3_600_000;

const iso = (ms: number) => new Date(ms).toISOString();

export class AccountRequests {
  constructor(
    private readonly store: Store,
    private readonly repositories: Repositories,
    private readonly box: SecretBox,
    private readonly runner: Runner,
    private readonly deleteGraceMs = DEFAULT_ACCOUNT_DELETE_GRACE_MS,
  ) {
    runner.register<{ kind: AccountDsrKind; token: string }>(RUN, { run: ({ kind, token }) => Promise.resolve(this.run(kind, token)), maxAttempts: 5 });
  }

  /** Records a request about the presenting token's account and queues it. */
  create(kind: AccountDsrKind, account: TokenRecord, now = Date.now()): { token: string; createdAt: string } {
    const token = randomUUID();
    const runAt = kind === "delete" ? now + this.deleteGraceMs : now;
    const message = kind === "delete" ? `queued: the API token ${account.id} and its description are deleted at ${iso(runAt)} unless cancelled before` : "queued";
    this.store.transaction(() => {
      this.repositories.accountDsrRequests.insert({ token, kind, api_token_id: account.id, message, created_at: now, run_at: runAt });
      this.runner.enqueue(RUN, token, { payload: { kind, token }, runAt });
    });
    return { token, createdAt: iso(now) };
  }

  /**
   * A request's status. An export answers only the token it concerns (another gets undefined: 404);
   * a deletion answers whoever holds its request token (the account's own token is gone once it completes).
   */
  status(kind: AccountDsrKind, token: string, caller: TokenRecord | undefined, signedUrl: (expiresAt: number) => string): DataSubjectRightStatus | undefined {
    const row = this.repositories.accountDsrRequests.find(kind, token);
    if (!row || (kind === "export" && row.api_token_id !== caller?.id)) return undefined;
    if (row.kind !== "export" || row.status !== "Completed" || row.document_expires_at === null) return { status: row.status, message: row.message };
    const expired = Date.now() >= row.document_expires_at || row.document_sealed === null;
    return { status: row.status, message: row.message, sasUrl: signedUrl(row.document_expires_at), sasUrlExpired: expired };
  }

  /** Cancels a request that has not run: 404 unknown (or another account's), 503 running, 409 ended. */
  cancel(kind: AccountDsrKind, token: string, caller: TokenRecord): { token: string; createdAt: string } {
    const { accountDsrRequests } = this.repositories;
    const row = accountDsrRequests.find(kind, token);
    if (!row || row.api_token_id !== caller.id) throw new ApiError("NotFound", `no account ${kind} request ${token} for this token`);
    const cancelled = this.store.transaction(() => {
      const done = accountDsrRequests.move(token, "Queued", "None", `cancelled at ${iso(Date.now())}; nothing was ${kind === "delete" ? "deleted" : "exported"}`, Date.now());
      if (done) this.runner.cancel(RUN, token);
      return done;
    });
    if (!cancelled) {
      const now = accountDsrRequests.find(kind, token)!;
      if (now.status === "InProgress") throw new ApiError("ServiceUnavailable", `the ${kind} request ${token} is running; it cannot be cancelled yet`);
      throw new ApiError("Conflict", `the ${kind} request ${token} is ${now.status === "None" ? "cancelled already" : now.status}: only a Queued request can be cancelled`);
    }
    return { token, createdAt: iso(row.created_at) };
  }

  /** The export's document, when the signature and its expiry hold. */
  document(token: string): AccountDocument | undefined {
    const row = this.repositories.accountDsrRequests.find("export", token);
    if (!row?.document_sealed || row.document_expires_at === null || Date.now() >= row.document_expires_at) return undefined;
    return JSON.parse(this.box.open(row.document_sealed)) as AccountDocument;
  }

  sign(token: string, expiresAt: number): string {
    return this.box.sign("account-export", `${token}:${expiresAt}`);
  }

  verify(token: string, expiresAt: string, signature: string): boolean {
    return this.box.verify("account-export", `${token}:${expiresAt}`, signature);
  }

  private run(kind: AccountDsrKind, token: string): void {
    const { accountDsrRequests, apiTokens } = this.repositories;
    this.store.transaction(() => {
      const row: AccountDsrRow | undefined = accountDsrRequests.find(kind, token);
      if (!row || !accountDsrRequests.move(token, "Queued", "InProgress", "running", Date.now())) return;
      const record = apiTokens.record(row.api_token_id);
      if (kind === "export") {
        if (!record) return accountDsrRequests.move(token, "InProgress", "Failed", "the account's API token no longer exists", Date.now());
        const document: AccountDocument = { api_token: record, audit_entries: [], exported_at: iso(Date.now()) };
        const expiresAt = Date.now() + ACCOUNT_EXPORT_DAYS * DAY;
        accountDsrRequests.setDocument(token, this.box.seal(JSON.stringify(document)), expiresAt);
        return accountDsrRequests.move(token, "InProgress", "Completed", `the account's data (its API token's record; the service keeps no audit entries) is at sasUrl until ${iso(expiresAt)}`, Date.now());
      }
      apiTokens.delete(row.api_token_id);
      accountDsrRequests.dropDocuments(row.api_token_id);
      return accountDsrRequests.move(
        token,
        "InProgress",
        "Completed",
        `${record ? `the API token ${row.api_token_id} (its hash, description and scope) was deleted` : "the API token was gone already"}, with any export of the account; what it created in apps (audiences, exports, requests) belongs to the apps and stays`,
        Date.now(),
      );
    });
  }
}
