// Reads an NDJSON request body as a stream: splits lines on the bytes as they arrive, checks each
// line with a zod schema and keeps only the validated objects, so a body never lives whole in memory.
import { createHash } from "node:crypto";
import { Socket } from "node:net";
import type { Readable } from "node:stream";
import type { z } from "zod";
import type { Limit } from "../domain/index.ts";
import { ApiError, zodIssues } from "./errors.ts";

/** At most this many issues are reported, so a wholly wrong body still answers in one short message. */
export const MAX_REPORTED_ISSUES = 10;

const NEWLINE = 0x0a;

/** "65,536 bytes per NDJSON line (pushplane service)" */
export const stated = (limit: Limit) => `${limit.value.toLocaleString("en-US")} ${limit.unit} (${limit.source})`;

/**
 * 413 Payload Too Large in the contract's error body. The contract has no code of its own for it;
 * the app's error handler answers a too-large body with "BadRequest" too, so clients see one code.
 */
export class PayloadTooLarge extends ApiError {
  override readonly status = 413;
  constructor(message: string) {
    super("BadRequest", message);
  }
}

export interface NdjsonLimits {
  /** Bytes of the whole body. */
  body: Limit;
  /** Bytes of one line, its newline excluded. */
  line: Limit;
  /** Non-empty lines, i.e. items, in one body. */
  items: Limit;
}

/** What the content-type parser hands the route: marked, so a JSON array body is never taken for it. */
export class NdjsonBatch<T> {
  constructor(
    readonly items: T[],
    /** SHA-256 of the body's bytes: an identical retry has the same one (devices.ts resumes it). */
    readonly digest: string,
  ) {}
}

/**
 * Takes a body chunk by chunk. Holds the validated items, the issues so far and at most one
 * unfinished line, never more than `limits.line` bytes of it. `write` and `end` throw the first
 * fatal error (a line or the body too long, too many items, too many issues) as an ApiError.
 */
export class NdjsonReader<T> {
  readonly items: T[] = [];
  private readonly issues: string[] = [];
  private bodyBytes = 0;
  private completedLines = 0;
  private nonEmptyLines = 0;
  private partialLine: Buffer[] = [];
  private partialLineBytes = 0;
  private readonly hash = createHash("sha256");

  constructor(
    private readonly schema: z.ZodType<T>,
    private readonly limits: NdjsonLimits,
  ) {}

  write(chunk: Buffer): void {
    this.bodyBytes += chunk.length;
    if (this.bodyBytes > this.limits.body.value) throw this.bodyTooLarge();
    this.hash.update(chunk);
    let start = 0;
    for (let newline = chunk.indexOf(NEWLINE, start); newline !== -1; newline = chunk.indexOf(NEWLINE, start)) {
      this.completeLine(chunk.subarray(start, newline));
      start = newline + 1;
    }
    if (start < chunk.length) this.holdPartialLine(chunk.subarray(start));
  }

  /** The body has ended: the last line may lack its newline. Returns the items, or throws the issues. */
  /** The hex SHA-256 of every byte written so far. */
  digest(): string {
    return this.hash.copy().digest("hex");
  }

  end(): T[] {
    if (this.partialLineBytes > 0) this.completeLine(Buffer.alloc(0));
    if (this.issues.length > 0) throw this.issuesError();
    return this.items;
  }

  bodyTooLarge(declaredBytes?: number): PayloadTooLarge {
    const size = declaredBytes === undefined ? "request body is longer than" : `request body of ${declaredBytes.toLocaleString("en-US")} bytes is longer than`;
    return new PayloadTooLarge(`${size} ${stated(this.limits.body)}; split it into several requests`);
  }

  private lineTooLong(): PayloadTooLarge {
    return new PayloadTooLarge(`line ${this.completedLines + 1} is longer than ${stated(this.limits.line)}`);
  }

  // Checked as the line grows, so an endless line is refused after `limits.line` bytes, not at its end.
  private holdPartialLine(part: Buffer): void {
    this.partialLineBytes += part.length;
    if (this.partialLineBytes > this.limits.line.value) throw this.lineTooLong();
    this.partialLine.push(part);
  }

  private completeLine(tail: Buffer): void {
    if (this.partialLineBytes + tail.length > this.limits.line.value) throw this.lineTooLong();
    // Splitting on the newline byte is safe in UTF-8: 0x0a never occurs inside a multi-byte character.
    const bytes = this.partialLine.length === 0 ? tail : Buffer.concat([...this.partialLine, tail]);
    this.partialLine = [];
    this.partialLineBytes = 0;
    const lineNumber = ++this.completedLines;
    const text = bytes.toString("utf8");
    if (text.trim() === "") return;
    if (++this.nonEmptyLines > this.limits.items.value) {
      throw new ApiError("BadRequest", `line ${lineNumber}: the body holds more than ${stated(this.limits.items)}; split it into several requests`);
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      this.addIssues([`line ${lineNumber}: not valid JSON`]);
      return;
    }
    const result = this.schema.safeParse(value);
    if (result.success) this.items.push(result.data);
    else this.addIssues(zodIssues(result.error).map((issue) => `line ${lineNumber}: ${issue.message}`));
  }

  // Enough issues to act on: stop reading rather than validate the rest of a body that will be refused.
  private addIssues(found: string[]): void {
    this.issues.push(...found);
    if (this.issues.length >= MAX_REPORTED_ISSUES) throw this.issuesError();
  }

  private issuesError(): ApiError {
    return new ApiError("BadRequest", this.issues.slice(0, MAX_REPORTED_ISSUES).join("; "));
  }
}

/**
 * Reads a request body stream through an NdjsonReader. A declared Content-Length over the limit is
 * refused before reading. On the first fatal error the promise rejects at once (fastify answers it
 * with `Connection: close`); from then on what still arrives is discarded, never kept, until the
 * socket closes (see lingerAfterAnswer).
 */
export function readNdjson<T>(payload: Readable & { readonly socket?: unknown }, contentLength: string | undefined, schema: z.ZodType<T>, limits: NdjsonLimits): Promise<NdjsonBatch<T>> {
  const reader = new NdjsonReader(schema, limits);
  const declared = contentLength === undefined ? undefined : Number(contentLength);
  return new Promise((resolve, reject) => {
    const detach = () => {
      payload.off("data", onData);
      payload.off("end", onEnd);
      payload.off("error", onError);
      payload.off("close", onClose);
    };
    const fail = (error: unknown) => {
      detach();
      payload.on("data", discard);
      payload.on("error", discard);
      payload.resume();
      lingerAfterAnswer(payload.socket);
      reject(error);
    };
    const onData = (chunk: Buffer | string) => {
      try {
        reader.write(typeof chunk === "string" ? Buffer.from(chunk) : chunk);
      } catch (error) {
        fail(error);
      }
    };
    const onEnd = () => {
      let items: T[];
      try {
        items = reader.end();
      } catch (error) {
        fail(error);
        return;
      }
      detach();
      resolve(new NdjsonBatch(items, reader.digest()));
    };
    // The client went away mid-body: nobody is left to answer, but the request must still settle.
    const onError = (error: Error) => fail(Object.assign(error, { statusCode: 400 }));
    const onClose = () => fail(Object.assign(new Error("the request body ended before it was complete"), { statusCode: 400 }));

    if (declared !== undefined && Number.isFinite(declared) && declared > limits.body.value) {
      fail(reader.bodyTooLarge(declared));
      return;
    }
    payload.on("data", onData);
    payload.on("end", onEnd);
    payload.on("error", onError);
    payload.on("close", onClose);
  });
}

function discard(): void {}

/** How long, at most, a refused upload's socket stays open after the answer, for the client to read it. */
const LINGER_MS = 5_000;

/**
 * Node closes a `Connection: close` socket as soon as the answer is written. With the client still
 * uploading, the unread bytes turn that close into a reset, which can reach the client before it has
 * read the answer: fetch then fails with EPIPE instead of showing the 413. So, for this socket, close
 * only the sending side after the answer, go on discarding what arrives (bounded: nothing is kept),
 * and destroy it when the client closes, or after LINGER_MS at most.
 */
function lingerAfterAnswer(socket: unknown): void {
  // Requests made with app.inject have no real socket, and nothing to linger on.
  if (!(socket instanceof Socket)) return;
  socket.destroySoon = function lingeringDestroySoon(this: Socket) {
    this.end();
    const timer = setTimeout(() => this.destroy(), LINGER_MS);
    timer.unref();
    this.once("close", () => clearTimeout(timer));
  };
}
