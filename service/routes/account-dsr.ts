// App Center's account data-subject rights (swagger DataSubjectRight_*): export and delete requests
// about the token holder's own account, their status and cancel, and the export's signed download.
import type { FastifyPluginAsync } from "fastify";
import { API, type AccountDsrKind } from "../../domain/index.ts";
import { serve } from "../contract.ts";
import { ApiError } from "../errors.ts";
import type { Services } from "../services.ts";

export const accountDsrRoutes = ({ accountRequests, authFailures }: Services): FastifyPluginAsync => async (app) => {
  const location = (kind: AccountDsrKind, token: string) => `/v0.1/user/dsr/${kind}/${token}`;
  /**
   * The document's signed URL, relative to the service: never built from the request's Host header
   * (which a proxy or a forged request controls), so it points where the caller already talks to.
   */
  const signedUrl = (token: string) => (expiresAt: number) => `${location("export", token)}/document?expires=${expiresAt}&sig=${accountRequests.sign(token, expiresAt)}`;

  for (const kind of ["export", "delete"] as const) {
    serve(app, kind === "export" ? API.accountExportRequest : API.accountDeleteRequest, ({ request, reply }) => {
      const created = accountRequests.create(kind, request.apiToken!);
      reply.header("Location", location(kind, created.token));
      return created;
    });
    serve(app, kind === "export" ? API.accountExportCancel : API.accountDeleteCancel, ({ params, request, reply }) => {
      const cancelled = accountRequests.cancel(kind, params.token, request.apiToken!);
      reply.header("Location", location(kind, params.token));
      return cancelled;
    });
  }
  serve(app, API.accountExportStatus, ({ params, request }) => {
    const status = accountRequests.status("export", params.token, request.apiToken, signedUrl(params.token));
    if (!status) throw new ApiError("NotFound", `no account export request ${params.token} for this token`);
    return status;
  });
  // No API token: once the deletion completes, the account's token is gone; the request's own (random) token is the capability.
  serve(app, API.accountDeleteStatus, ({ params, request }) => {
    const status = accountRequests.status("delete", params.token, request.apiToken, () => "");
    if (!status) throw new ApiError("NotFound", `no account delete request ${params.token}`);
    return status;
  });
  serve(app, API.accountExportDocument, ({ params, query, request, reply }) => {
    const { expires, sig } = query;
    if (!expires || !sig || !accountRequests.verify(params.token, expires, sig)) {
      authFailures.record(request.ip);
      throw new ApiError("Unauthorized", "the document URL's signature is not valid");
    }
    const document = Date.now() < Number(expires) ? accountRequests.document(params.token) : undefined;
    if (!document) throw new ApiError("Unauthorized", "the document URL expired, or the account was deleted since");
    return reply.header("content-type", "application/json; charset=utf-8").send(JSON.stringify(document));
  });
};
