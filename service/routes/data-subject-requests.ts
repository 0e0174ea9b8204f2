// Data-subject requests (domain/dsr.ts, service/dsr.ts): create (202 with Location), list, get, and
// cancel before the request starts.
import type { FastifyPluginAsync } from "fastify";
import { API, type AppKey } from "../../domain/index.ts";
import { brazeApp } from "../braze.ts";
import { scopedApp } from "../auth.ts";
import { serve } from "../contract.ts";
import { ApiError } from "../errors.ts";
import type { Services } from "../services.ts";

export const dataSubjectRequestRoutes = ({ dataSubjectRequests }: Services): FastifyPluginAsync => async (app) => {
  serve(app, API.createDataSubjectRequest, ({ body, request, reply }) => {
    const key = scopedApp(request);
    const created = dataSubjectRequests.create(key, body);
    reply.header("Location", `/v0.1/apps/${encodeURIComponent(key.owner)}/${encodeURIComponent(key.app)}/data_subject_requests/${created.id}`);
    return created;
  });

  // Braze's /users/delete: one erasure per external id (a user id here), each a request of its own.
  const deleteUsers = (key: AppKey, externalIds: readonly string[]) => {
    for (const userId of new Set(externalIds)) dataSubjectRequests.create(key, { kind: "erasure", subject: { user_id: userId } });
    return { message: "success" as const, deleted: new Set(externalIds).size };
  };
  serve(app, API.deleteUsers, ({ body, request }) => deleteUsers(scopedApp(request), body.external_ids));
  serve(app, API.brazeDeleteUsers, ({ body, request }) => deleteUsers(brazeApp(request), body.external_ids));

  serve(app, API.listDataSubjectRequests, ({ query, request }) => ({ values: dataSubjectRequests.list(scopedApp(request), query.$top) }));

  const notFound = (key: { owner: string; app: string }, id: string) => new ApiError("NotFound", `data-subject request '${id}' not found in app '${key.owner}/${key.app}'`);
  serve(app, API.getDataSubjectRequest, ({ params, request }) => {
    const key = scopedApp(request);
    const found = dataSubjectRequests.get(key, params.request_id);
    if (!found) throw notFound(key, params.request_id);
    return found;
  });

  serve(app, API.recheckDataSubjectRequest, async ({ params, body, request }) => {
    const key = scopedApp(request);
    const outcome = await dataSubjectRequests.recheck(key, params.request_id, body.subject);
    if (!outcome) throw notFound(key, params.request_id);
    return outcome;
  });

  serve(app, API.cancelDataSubjectRequest, ({ params, request }) => {
    const key = scopedApp(request);
    const outcome = dataSubjectRequests.cancel(key, params.request_id);
    if (!outcome) throw notFound(key, params.request_id);
    if (!outcome.cancelled && outcome.request.state !== "Cancelled") {
      throw new ApiError("Conflict", `data-subject request '${params.request_id}' is ${outcome.request.state}: only a Pending request can be cancelled`);
    }
    return outcome.request;
  });
};
