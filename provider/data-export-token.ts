// The DataExportToken resource (seeds: CloudKit broadcast-metrics export): a token for one app's
// broadcast-metrics dataset, expiring at most six months ahead. Its value exists once, in the
// create answer: it becomes a secret output, encrypted in state. Any change makes a new token.
// Order: inputs/outputs → check → diff → create → read → update → delete → the program-side class.
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { DATA_EXPORT_DATASETS, tokenExpiryProblem, type DataExportDataset } from "../domain/index.ts";
import { resolveApp, zodFailures } from "./checks.ts";
import { clientFor, settings } from "./settings.ts";
import { PushplaneResource } from "./stub.ts";

export interface DataExportTokenInputs {
  owner: string;
  app: string;
  name: string;
  description: string;
  bundleId: string;
  dataset: DataExportDataset;
  /** A fixed expiry, or … */
  expiresAt?: string;
  /** … a lifetime from creation (default 90 days when neither is given). */
  lifetimeDays?: number;
}
export interface DataExportTokenOutputs extends DataExportTokenInputs {
  tokenId: string;
  token: string;
  expiresOn: string;
}

const inputSchema = z.object({
  owner: z.string().min(1).optional(),
  app: z.string().min(1).optional(),
  name: z.string().min(1).max(128),
  description: z.string().max(512).default(""),
  bundleId: z.string().regex(/^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/, "must be a bundle identifier such as com.example.app"),
  dataset: z.enum(DATA_EXPORT_DATASETS),
  expiresAt: z.string().optional(),
  lifetimeDays: z.number().positive().optional(),
});

const DAY = 86_400_000;
const DEFAULT_LIFETIME_DAYS = 90;

async function check(olds: Partial<DataExportTokenInputs>, news: Record<string, unknown>): Promise<pulumi.dynamic.CheckResult<DataExportTokenInputs>> {
  const parsed = inputSchema.safeParse(news);
  if (!parsed.success) return { failures: zodFailures(parsed.error) };
  const given = parsed.data;
  const failures: pulumi.dynamic.CheckFailure[] = [];
  const { owner, app } = await resolveApp(given, failures);
  if (given.expiresAt !== undefined && given.lifetimeDays !== undefined) {
    failures.push({ property: "lifetimeDays", reason: "set expiresAt or lifetimeDays, not both" });
  }
  // An existing token keeps the expiry it was created with; a new one must be within six months.
  if (given.expiresAt !== undefined && given.expiresAt !== olds.expiresAt) {
    const problem = tokenExpiryProblem(given.expiresAt);
    if (problem) failures.push({ property: "expiresAt", reason: `expiresAt ${problem}` });
  }
  if (given.lifetimeDays !== undefined && given.lifetimeDays !== olds.lifetimeDays) {
    const problem = tokenExpiryProblem(new Date(Date.now() + given.lifetimeDays * DAY).toISOString());
    if (problem) failures.push({ property: "lifetimeDays", reason: `lifetimeDays of ${given.lifetimeDays}: the expiry ${problem}` });
  }
  if (failures.length > 0) return { failures };
  const lifetime = given.expiresAt === undefined ? { lifetimeDays: given.lifetimeDays ?? DEFAULT_LIFETIME_DAYS } : {};
  return { inputs: { owner, app, ...given, ...lifetime } };
}

const FIELDS = ["owner", "app", "name", "description", "bundleId", "dataset", "expiresAt", "lifetimeDays"] as const;

async function diff(_id: string, olds: DataExportTokenOutputs, news: DataExportTokenInputs): Promise<pulumi.dynamic.DiffResult> {
  const replaces = FIELDS.filter((field) => olds[field] !== news[field]);
  return { changes: replaces.length > 0, replaces: [...replaces], deleteBeforeReplace: false };
}

function parseId(id: string) {
  const [owner, app, tokenId, ...rest] = id.split("/");
  if (!owner || !app || !tokenId || rest.length > 0) throw new Error(`'${id}' is not a data export token id: expected owner/app/token-id`);
  return { owner, app, tokenId };
}

async function create(inputs: DataExportTokenInputs): Promise<pulumi.dynamic.CreateResult<DataExportTokenOutputs>> {
  const created = await clientFor(inputs).createDataExportToken(inputs, {
    name: inputs.name,
    ...(inputs.description ? { description: inputs.description } : {}),
    bundle_id: inputs.bundleId,
    dataset: inputs.dataset,
    expires_at: inputs.expiresAt ?? new Date(Date.now() + (inputs.lifetimeDays ?? DEFAULT_LIFETIME_DAYS) * DAY).toISOString(),
  });
  if (!created.token) throw new Error("the service created the token but did not return its value");
  return { id: `${inputs.owner}/${inputs.app}/${created.id}`, outs: { ...inputs, tokenId: created.id, token: created.token, expiresOn: created.expires_at } };
}

/** Gone once revoked or expired; the value itself is never read back. */
async function read(id: string, props?: DataExportTokenOutputs): Promise<pulumi.dynamic.ReadResult<DataExportTokenOutputs>> {
  const ref = parseId(id);
  const found = await clientFor(ref).getDataExportToken(ref, ref.tokenId);
  if (!found || !props) return {};
  return { id, props };
}

async function remove(id: string): Promise<void> {
  const ref = parseId(id);
  await clientFor(ref).deleteDataExportToken(ref, ref.tokenId);
}

export const dataExportTokenProvider = { check, diff, create, read, delete: remove };

export interface DataExportTokenArgs {
  /** Defaults to the resource name. */
  name?: pulumi.Input<string>;
  description?: pulumi.Input<string>;
  /** The app's bundle identifier, e.g. com.example.app. */
  bundleId: pulumi.Input<string>;
  /** broadcast_application_metrics (all channels) or broadcast_channel_metrics (per channel). */
  dataset: pulumi.Input<DataExportDataset>;
  /** ISO-8601 expiry, at most six months ahead; or use lifetimeDays. */
  expiresAt?: pulumi.Input<string>;
  /** Days from creation (default 90); the expiry then stays what it was at creation. */
  lifetimeDays?: pulumi.Input<number>;
  owner?: pulumi.Input<string>;
  app?: pulumi.Input<string>;
}

export class DataExportToken extends PushplaneResource {
  declare readonly tokenId: pulumi.Output<string>;
  declare readonly token: pulumi.Output<string>;
  declare readonly expiresOn: pulumi.Output<string>;

  constructor(name: string, args: DataExportTokenArgs, opts?: pulumi.CustomResourceOptions) {
    const props = { ...args, name: args.name ?? name, tokenId: undefined, token: undefined, expiresOn: undefined };
    super("DataExportToken", name, props, opts, ["token"]);
  }
}
