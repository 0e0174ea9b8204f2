// Data-subject requests at rest: state, the subject as keyed hashes (its identifiers sealed only
// while the request is open), the receipt.
import type { DsrKind, DsrReceipt, DsrState } from "../../domain/index.ts";
import type { Store } from "../store.ts";

export interface DsrRequestRow {
  id: string;
  app_id: number;
  kind: DsrKind;
  state: DsrState;
  subject_hashes: string;
  subject_sealed: string | null;
  receipt: string | null;
  error: string | null;
  received_at: number;
  due_at: number;
  started_at: number | null;
  finished_at: number | null;
  erased_seq: number | null;
  erased_at: number | null;
  sas_sealed: string | null;
}

export class DsrRequests {
  constructor(private readonly store: Store) {}

  insert(request: Pick<DsrRequestRow, "id" | "app_id" | "kind" | "subject_hashes" | "subject_sealed" | "received_at" | "due_at" | "sas_sealed">): void {
    this.store.db
      .prepare("INSERT INTO dsr_requests (id, app_id, kind, state, subject_hashes, subject_sealed, received_at, due_at, sas_sealed) VALUES (?, ?, ?, 'Pending', ?, ?, ?, ?, ?)")
      .run(request.id, request.app_id, request.kind, request.subject_hashes, request.subject_sealed, request.received_at, request.due_at, request.sas_sealed);
  }

  find(appId: number, id: string): DsrRequestRow | undefined {
    return this.store.db.prepare("SELECT * FROM dsr_requests WHERE app_id = ? AND id = ?").get(appId, id) as DsrRequestRow | undefined;
  }

  /** The app's newest requests, at most `limit`. */
  list(appId: number, limit: number): DsrRequestRow[] {
    return this.store.db.prepare("SELECT * FROM dsr_requests WHERE app_id = ? ORDER BY received_at DESC, id LIMIT ?").all(appId, limit) as unknown as DsrRequestRow[];
  }

  /** Pending → Running (answers false when it was cancelled or has already started). */
  start(id: string, now: number): boolean {
    return Number(this.store.db.prepare("UPDATE dsr_requests SET state = 'Running', started_at = ? WHERE id = ? AND state = 'Pending'").run(now, id).changes) > 0;
  }

  /** Pending → Cancelled; a request that has started cannot be cancelled. */
  cancel(appId: number, id: string, now: number): boolean {
    const result = this.store.db
      .prepare("UPDATE dsr_requests SET state = 'Cancelled', finished_at = ?, subject_sealed = NULL, sas_sealed = NULL WHERE app_id = ? AND id = ? AND state = 'Pending'")
      .run(now, appId, id);
    return Number(result.changes) > 0;
  }

  /**
   * The store part of an erasure is done: its receipt, the device-change sequence number to wait
   * for, and the subject with the install ids its devices had (sealed: exported copies are matched on them).
   */
  recordErasure(id: string, erasure: { receipt: DsrReceipt; erasedSeq: number; subjectSealed: string; at: number }): void {
    this.store.db
      .prepare("UPDATE dsr_requests SET receipt = ?, erased_seq = ?, subject_sealed = ?, erased_at = ? WHERE id = ? AND state = 'Running'")
      .run(JSON.stringify(erasure.receipt), erasure.erasedSeq, erasure.subjectSealed, erasure.at, id);
  }

  updateReceipt(id: string, receipt: DsrReceipt): void {
    this.store.db.prepare("UPDATE dsr_requests SET receipt = ? WHERE id = ? AND state = 'Running'").run(JSON.stringify(receipt), id);
  }

  /** Completed erasures of the app whose subject had this keyed hash (a later one finds nothing: its receipt says why). */
  erasuresOf(appId: number, hash: string, except: string): { id: string; finished_at: number }[] {
    return this.store.db
      .prepare("SELECT id, finished_at FROM dsr_requests WHERE app_id = ? AND kind = 'erasure' AND state = 'Completed' AND id != ? AND instr(subject_hashes, ?) > 0 ORDER BY finished_at DESC")
      .all(appId, except, `"${hash}"`) as { id: string; finished_at: number }[];
  }

  /** Ends a request: its receipt or its reason; the sealed identifiers go with it. */
  finish(id: string, outcome: { completed: true } | { error: string }, now: number): void {
    this.store.db
      .prepare("UPDATE dsr_requests SET state = ?, error = ?, finished_at = ?, subject_sealed = NULL, sas_sealed = NULL WHERE id = ? AND state = 'Running'")
      .run("error" in outcome ? "Failed" : "Completed", "error" in outcome ? outcome.error : null, now, id);
  }
}
