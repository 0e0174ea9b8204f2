// The status route of an app's background work: items pending, running, or set aside after failing
// (dead), with their attempts and last error — where a poison input shows up instead of a crash.
import type { FastifyPluginAsync } from "fastify";
import { API } from "../../domain/index.ts";
import { scopedApp } from "../auth.ts";
import { serve } from "../contract.ts";
import type { Services } from "../services.ts";

export const backgroundWorkRoutes = ({ runner, store }: Services): FastifyPluginAsync => async (app) => {
  serve(app, API.listBackgroundWork, ({ query, request }) => ({ values: runner.itemsOf(store.appId(scopedApp(request)), query.state) }));
};
