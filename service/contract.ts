// Registers a route from its contract (domain/api.ts): the path, method and schemas come from the
// contract, so fastify validates the request and serializes the answer with them (a field the
// contract does not declare never leaves the service) and the OpenAPI document describes exactly
// what is served. The handler gets the parsed params, query and body and answers the payload of the
// contract's success status.
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteShorthandOptions } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { brazeErrorBodySchema, errorBodySchema, type RouteContract } from "../domain/index.ts";
import { authenticateBraze } from "./braze.ts";

/** The OpenAPI security scheme of each kind of caller (declared in app.ts); a signed URL carries its own. */
const SECURITY: Partial<Record<RouteContract["auth"], string>> = { apiToken: "apiToken", brazeKey: "brazeKey", dataExportToken: "dataExportToken" };

type Parsed<S> = S extends z.ZodType ? z.output<S> : undefined;
type SuccessSchema<C extends RouteContract> = C["responses"][keyof C["responses"]];

export interface RouteInput<C extends RouteContract> {
  params: Parsed<C["params"]>;
  query: Parsed<C["query"]>;
  body: Parsed<C["body"]>;
  request: FastifyRequest;
  reply: FastifyReply;
}

/** What a handler answers: the success payload (or nothing, for a body-less answer or one it sent itself). */
type Answer<C extends RouteContract> = Parsed<SuccessSchema<C>> | void | FastifyReply;

export function serve<C extends RouteContract>(
  app: FastifyInstance,
  contract: C,
  handler: (input: RouteInput<C>) => Answer<C> | Promise<Answer<C>>,
  options: Pick<RouteShorthandOptions, "bodyLimit" | "errorHandler"> = {},
): void {
  const statuses = Object.keys(contract.responses).map(Number);
  const success = statuses.find((status) => status >= 200 && status < 300)!;
  // A body-less answer (204, a HEAD's 404) is documented as such; nothing is serialized for it. Every
  // error, whoever raises it, leaves in the contract's error shape.
  const braze = contract.auth === "brazeKey";
  const errors = braze ? brazeErrorBodySchema : errorBodySchema;
  const response = {
    ...Object.fromEntries(statuses.filter((status) => status < 300).map((status) => [status, contract.responses[status] ?? z.null().describe("no body")])),
    "4xx": errors,
    "5xx": errors,
  };
  app.withTypeProvider<ZodTypeProvider>().route({
    method: contract.method,
    url: contract.path,
    // A Braze route authenticates itself (its key may be in the body): the X-API-Token hook passes it by.
    config: { public: contract.auth !== "apiToken", braze },
    ...(braze
      ? {
          preValidation: async (request: FastifyRequest) => authenticateBraze(request),
          // Errors leave as Braze writes them: {"message": …}.
          preSerialization: async (request: FastifyRequest, reply: FastifyReply, payload: unknown) =>
            reply.statusCode >= 400 && typeof payload === "object" && payload !== null && "error" in payload ? { message: (payload as { error: { message: string } }).error.message } : payload,
        }
      : {}),
    schema: {
      ...(contract.operationId ? { operationId: contract.operationId } : {}),
      summary: contract.summary,
      ...(SECURITY[contract.auth] ? { security: [{ [SECURITY[contract.auth]!]: [] }] } : {}),
      ...(contract.params ? { params: contract.params } : {}),
      ...(contract.query ? { querystring: contract.query } : {}),
      ...(contract.body ? { body: contract.body } : {}),
      response,
    },
    ...options,
    handler: async (request, reply) => {
      const answer = await handler({ params: request.params, query: request.query, body: request.body, request, reply } as RouteInput<C>);
      if (reply.sent) return reply;
      if (answer === reply) return reply;
      // The answer's shape is the contract's; fastify's per-status reply typing cannot follow a generic contract.
      const untyped = reply as FastifyReply;
      untyped.code(success);
      return contract.responses[success] ? untyped.send(answer) : untyped.send();
    },
  });
}
