// API errors in the contract's shape: {"error": {"code", "message"}} (swagger: ErrorResponse).
import type { FastifyReply } from "fastify";
import type { z } from "zod";
import { LIMITS, type FieldIssue } from "../domain/index.ts";

export type ErrorCode = "BadRequest" | "Conflict" | "NotAcceptable" | "NotFound" | "InternalServerError" | "Unauthorized" | "TooManyRequests" | "ServiceUnavailable";

const STATUS: Record<ErrorCode, number> = {
  BadRequest: 400,
  Unauthorized: 401,
  NotFound: 404,
  NotAcceptable: 406,
  Conflict: 409,
  TooManyRequests: 429,
  InternalServerError: 500,
  ServiceUnavailable: 503,
};

export class ApiError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** Sent as Retry-After (429). */
  readonly retryAfterSeconds: number | undefined;
  constructor(code: ErrorCode, message: string, retryAfterSeconds?: number) {
    super(message);
    this.code = code;
    this.status = STATUS[code];
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** A message as an error answers with it: an echo of the caller's input never grows an answer past the limit. */
export const boundedMessage = (message: string) => {
  const max = LIMITS.errorMessageChars.value;
  return message.length <= max ? message : `${message.slice(0, max)}… (${(message.length - max).toLocaleString("en-US")} more characters)`;
};

export const errorBody = (code: ErrorCode, message: string) => ({ error: { code, message: boundedMessage(message) } });

export function sendError(reply: FastifyReply, error: ApiError): FastifyReply {
  if (error.retryAfterSeconds !== undefined) reply.header("Retry-After", String(error.retryAfterSeconds));
  return reply.code(error.status).send(errorBody(error.code, error.message));
}

export function badRequest(issues: readonly FieldIssue[]): ApiError {
  return new ApiError("BadRequest", issues.map((i) => i.message).join("; "));
}

/** Turns a zod failure into the same "field: problem" sentences the domain validation uses. */
export function zodIssues(error: z.ZodError, prefix = ""): FieldIssue[] {
  return error.issues.map((issue) => {
    const field = [prefix, ...issue.path.map(String)].filter(Boolean).join(".") || "body";
    return { field, message: `${field}: ${issue.message}` };
  });
}

/** Parses with a zod schema or throws a 400 naming each bad field. */
export function parseOr400<T>(schema: z.ZodType<T>, value: unknown, prefix = ""): T {
  const result = schema.safeParse(value);
  if (!result.success) throw badRequest(zodIssues(result.error, prefix));
  return result.data;
}
