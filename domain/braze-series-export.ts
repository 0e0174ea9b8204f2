// The Braze series an export job can write on a schedule (kind braze_series_export): each series
// is one of the dialect's data_series routes, with the parameters that route takes; a job's run
// writes the `length` complete units before it starts, as CSV or JSON lines, with the same points
// the route answers.
import { z } from "zod";
import { API } from "./api.ts";
import { seriesLengthSchema, SERIES_UNITS } from "./braze-series.ts";

/** The parameters a series may take besides length, beyond the ones every series takes. */
export const SERIES_PARAMETERS = ["unit", "event", "product", "segment_id", "campaign_id"] as const;
type SeriesParameter = (typeof SERIES_PARAMETERS)[number];

interface SeriesSpec {
  /** The route whose points the series writes. */
  readonly route: keyof typeof API;
  readonly requires: readonly SeriesParameter[];
  readonly accepts: readonly SeriesParameter[];
}

/** Each series a job may export: its route, the parameters it needs and the ones it may take. */
export const BRAZE_SERIES = {
  dau: { route: "brazeDauSeries", requires: [], accepts: [] },
  mau: { route: "brazeMauSeries", requires: [], accepts: [] },
  new_users: { route: "brazeNewUsersSeries", requires: [], accepts: [] },
  uninstalls: { route: "brazeUninstallsSeries", requires: [], accepts: [] },
  sessions: { route: "brazeSessionsSeries", requires: [], accepts: ["unit", "segment_id"] },
  custom_event: { route: "brazeEventsSeries", requires: ["event"], accepts: ["unit", "segment_id"] },
  revenue: { route: "brazeRevenueSeries", requires: [], accepts: ["unit", "product"] },
  purchase_quantity: { route: "brazeQuantitySeries", requires: [], accepts: ["unit", "product"] },
  segment_size: { route: "brazeSegmentSeries", requires: ["segment_id"], accepts: [] },
  campaign: { route: "brazeCampaignSeries", requires: ["campaign_id"], accepts: [] },
} as const satisfies Record<string, SeriesSpec>;
export type BrazeSeriesName = keyof typeof BRAZE_SERIES;
export const BRAZE_SERIES_NAMES = Object.keys(BRAZE_SERIES) as BrazeSeriesName[];

type RouteOf<N extends BrazeSeriesName> = (typeof API)[(typeof BRAZE_SERIES)[N]["route"]];
/** One point of a series, as its route answers it. */
export type BrazeSeriesPoint<N extends BrazeSeriesName> = z.infer<RouteOf<N>["responses"][200]>["data"][number];

export const SERIES_EXPORT_FORMATS = ["csv", "jsonl"] as const;

/** Options of a braze_series_export job (service field names); a parameter its series does not take is refused, naming it. */
export const brazeSeriesJobOptionsSchema = z
  .object({
    series: z.enum(BRAZE_SERIES_NAMES as [BrazeSeriesName, ...BrazeSeriesName[]]),
    length: seriesLengthSchema.default(1),
    unit: z.enum(SERIES_UNITS).optional(),
    event: z.string().min(1).optional(),
    product: z.string().min(1).optional(),
    segment_id: z.string().min(1).optional(),
    campaign_id: z.string().min(1).optional(),
    format: z.enum(SERIES_EXPORT_FORMATS).default("csv"),
  })
  .strict()
  .superRefine((options, context) => {
    const spec: SeriesSpec = BRAZE_SERIES[options.series];
    for (const parameter of SERIES_PARAMETERS) {
      const given = options[parameter] !== undefined;
      if (!given && spec.requires.includes(parameter)) {
        context.addIssue({ code: "custom", path: [parameter], message: `required for the ${options.series} series` });
      } else if (given && !spec.requires.includes(parameter) && !spec.accepts.includes(parameter)) {
        const takers = BRAZE_SERIES_NAMES.filter((name) => ([...BRAZE_SERIES[name].requires, ...BRAZE_SERIES[name].accepts] as string[]).includes(parameter));
        context.addIssue({ code: "custom", path: [parameter], message: `the ${options.series} series takes no ${parameter} (only ${takers.join(", ")} do)` });
      }
    }
  });
export type BrazeSeriesJobOptions = z.output<typeof brazeSeriesJobOptionsSchema>;
