// The status route of an app's background work: items pending, running, or set aside after failing
// (dead), with their attempts and last error — where a poison input shows up instead of a crash.
import type { FastifyPluginAsync } from "fastify";
import { z } from "zod";
import { scopedApp } from "../auth.ts";
import { parseOr400 } from "../errors.ts";
import type { Services } from "../services.ts";

const query = z.object({ state: z.enum(["pending", "dead"]).optional() }).strict();

export const backgroundWorkRoutes = ({ runner, store }: Services): FastifyPluginAsync => async (app) => {
  app.get("/background_work", async (request) => {
    const key = scopedApp(request);
    const { state } = parseOr400(query, request.query);
    return { values: runner.itemsOf(store.appId(key), state) };
  });
};
