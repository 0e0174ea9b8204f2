// CloudKit-style data export tokens (seeds: CloudKit broadcast-metrics export): create (the value is
// in that answer only), read (never the value), delete (revoke).
import { createHash, randomBytes, randomUUID } from "node:crypto";
import type { FastifyPluginAsync } from "fastify";
import { dataExportTokenRequestSchema, tokenExpiryProblem } from "../../domain/index.ts";
import { scopedApp } from "../auth.ts";
import { ApiError, parseOr400 } from "../errors.ts";
import type { Services } from "../services.ts";

interface TokenRow {
  id: string;
  name: string;
  description: string | null;
  bundle_id: string;
  dataset: string;
  expires_at: number;
  created_at: number;
}

const view = (row: TokenRow) => ({
  id: row.id,
  name: row.name,
  ...(row.description ? { description: row.description } : {}),
  bundle_id: row.bundle_id,
  dataset: row.dataset,
  expires_at: new Date(row.expires_at).toISOString(),
  created_at: new Date(row.created_at).toISOString(),
});

export const dataExportTokenRoutes = ({ store }: Services): FastifyPluginAsync => async (app) => {
  app.post("/data_export_tokens", async (request, reply) => {
    const key = scopedApp(request);
    const body = parseOr400(dataExportTokenRequestSchema, request.body);
    const problem = tokenExpiryProblem(body.expires_at);
    if (problem) throw new ApiError("BadRequest", `expires_at ${problem}`);
    const token = `dxt_${randomBytes(32).toString("base64url")}`;
    const id = randomUUID();
    store.db
      .prepare("INSERT INTO data_export_tokens (id, app_id, token_hash, name, description, bundle_id, dataset, expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
      .run(id, store.appId(key), createHash("sha256").update(token).digest("hex"), body.name, body.description ?? null, body.bundle_id, body.dataset, Date.parse(body.expires_at), Date.now());
    const row = store.db.prepare("SELECT * FROM data_export_tokens WHERE id = ?").get(id) as unknown as TokenRow;
    return reply.code(201).send({ ...view(row), token });
  });

  const find = (request: { params: unknown; apiToken?: unknown }) => {
    const key = scopedApp(request as Parameters<typeof scopedApp>[0]);
    const { token_id: id } = request.params as { token_id: string };
    const row = store.db.prepare("SELECT * FROM data_export_tokens WHERE id = ? AND app_id = ?").get(id, store.appId(key)) as TokenRow | undefined;
    // An expired token is as good as gone.
    if (!row || row.expires_at <= Date.now()) throw new ApiError("NotFound", `data export token '${id}' not found in app '${key.owner}/${key.app}'`);
    return row;
  };

  app.get("/data_export_tokens/:token_id", async (request) => view(find(request)));

  app.delete("/data_export_tokens/:token_id", async (request, reply) => {
    store.db.prepare("DELETE FROM data_export_tokens WHERE id = ?").run(find(request).id);
    return reply.code(204).send();
  });
};
