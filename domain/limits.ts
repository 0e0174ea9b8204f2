// The platform limits, defined once for the service, the provider and the policy pack.
// Each limit names the document it comes from, so an error can say which rule was broken.

export interface Limit {
  readonly value: number;
  /** The unit of `value`, as it reads after the number: "characters", "audiences per app". */
  readonly unit: string;
  /** The seed document or contract that states it. */
  readonly source: string;
}

const limit = (value: number, unit: string, source: string): Limit => ({ value, unit, source });

const PUSH_API = "seeds: Using the Push API";
const SWAGGER = "contract: App Center swagger";
const BRAZE = "seeds: Braze export";
const CLOUDKIT = "seeds: CloudKit broadcast-metrics export";

export const LIMITS = {
  audiencesPerApp: limit(200, "audiences per app", PUSH_API),
  devicesPerAudience: limit(1000, "devices per audience", PUSH_API),
  notificationTargetDevices: limit(1000, "target devices per API notification", PUSH_API),
  devicesTargetInstallIds: limit(100, "install ids in a device list target", PUSH_API),
  userIdsTarget: limit(100, "users in a user list target", PUSH_API),
  customDataValueLength: limit(100, "characters per custom_data value", PUSH_API),
  audienceNameLength: limit(64, "characters", `${SWAGGER}, AudienceNameParameter`),
  audienceDefinitionLength: limit(2000, "characters", `${SWAGGER}, AudienceDefinition.definition`),
  audienceDescriptionLength: limit(128, "characters", `${SWAGGER}, AudienceDefinition.description`),
  definitionNestingDepth: limit(50, "levels deep", "pushplane: keeps every pass over a definition's tree shallow"),
  customPropertiesPerApp: limit(32, "custom properties per app", "pushplane storage (one column each)"),
  purchaseAmount: limit(1_000_000_000, "units of its currency per purchase", "pushplane: revenue sums stay whole cents, exact in a double"),
  ingestBatchDevices: limit(100_000, "devices per bulk ingestion request", "pushplane service"),
  ingestBatchEvents: limit(100_000, "events per ingestion request", "pushplane service"),
  // NDJSON ingestion is read as a stream, so these bound what one request may make the service hold.
  // A line: the largest device the schema admits (every string at its maximum, each character sent
  // as a \uXXXX escape) is about 60,000 bytes; a realistic device with 32 custom properties is about
  // 1,850, a synthetic one about 480; events are smaller. 64 KiB admits every valid line.
  ingestLineBytes: limit(64 * 1024, "bytes per NDJSON line", "pushplane service"),
  // A body: 100,000 typical devices (about 480 bytes a line, measured with service/synthetic.ts)
  // are about 46 MiB, so a backfill sends a full batch in one request; devices with 32 custom
  // properties fit about 36,000 to a request. What the service then holds is the validated objects:
  // about 1.1x the body for typical devices, 6x at worst (lines of thousands of tiny properties), so
  // at most about 400 MB per request, far below V8's heap (about 4 GiB) and its 512 MiB string limit.
  ingestBodyBytes: limit(64 * 1024 * 1024, "bytes per NDJSON ingestion request", "pushplane service"),
  // A JSON document is read whole before it is parsed, so it gets a smaller limit: 100,000 typical
  // events (about 130 bytes each) are about 13 MiB; more go as NDJSON, which is read as a stream.
  ingestJsonBodyBytes: limit(16 * 1024 * 1024, "bytes per JSON events request", "pushplane service"),
  notificationListTop: limit(2000, "notifications per list page ($top)", `${SWAGGER}, TopParameter`),
  notificationNameMin: limit(3, "characters", SWAGGER),
  notificationNameMax: limit(64, "characters", SWAGGER),
  notificationTitleLength: limit(128, "characters", SWAGGER),
  notificationBodyMin: limit(1, "characters", SWAGGER),
  notificationBodyMax: limit(4000, "characters", SWAGGER),
  usersExportExternalIds: limit(50, "external ids per users export request", BRAZE),
  dsrSubjectIdentifiers: limit(50, "identifiers per data-subject request", `pushplane, after ${BRAZE}'s 50 external ids per request`),
  dsrAnswerDays: limit(30, "days to answer a data-subject request (one month)", "GDPR Art. 12(3)"),
  rawEventExportWindowDays: limit(7, "days per raw event export request", BRAZE),
  rawEventExportLookbackDays: limit(90, "days back (3 months) for raw event exports", BRAZE),
  dataSeriesLengthMin: limit(1, "data_series length (minimum)", BRAZE),
  dataSeriesLengthMax: limit(100, "data_series length", BRAZE),
  brazeListPage: limit(100, "items per page of a segment, campaign or card list", BRAZE),
  brazeNamesPage: limit(250, "names per page of a custom event or product list", BRAZE),
  errorMessageChars: limit(4_000, "characters of an error message", "pushplane service: an echo of the caller's input never grows an answer past it"),
  brazePageNumber: limit(1_000_000, "page number of a Braze list", "pushplane service: past any list it holds (25 M names); the offset stays a whole number"),
  dataExportTokenMonths: limit(6, "months of data export token lifetime", CLOUDKIT),
  broadcastMetricsStartDaysBack: limit(30, "days back for a broadcast-metrics start date", CLOUDKIT),
  broadcastMetricsEndDaysAgoMin: limit(1, "day ago, at least, for a broadcast-metrics end date", CLOUDKIT),
  broadcastMetricsRepeatHours: limit(24, "hours in which a repeat request returns the same status URL", CLOUDKIT),
  broadcastMetricsDownloadMinutesMin: limit(20, "minutes a download URL stays valid (minimum)", CLOUDKIT),
  broadcastMetricsDownloadMinutesMax: limit(60, "minutes a download URL stays valid (maximum)", CLOUDKIT),
} as const satisfies Record<string, Limit>;

/** "must be at most 128 characters (got 140; contract: App Center swagger, …)" */
export function atMost(l: Limit, got: number): string {
  return `must be at most ${l.value} ${l.unit} (got ${got}; ${l.source})`;
}
