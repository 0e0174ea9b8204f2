// Realistic, seeded, deterministic synthetic data: users with one to three devices, the seeds'
// device properties with plausible distributions, typed custom properties, push tokens and events,
// and campaigns as if sent (deliveries, the opens that name them, purchases after an open).
// The same seed gives the same data, so tests, demos and benchmarks can name what they expect.
import { randomUUID } from "node:crypto";
import prand from "pure-rand";
import type { DeviceInput, EventInput } from "../domain/index.ts";
import type { DeviceStore } from "./devices.ts";
import type { Repositories } from "./repositories/index.ts";
import type { AppKey, Store } from "./store.ts";

type Rng = ReturnType<typeof prand.xoroshiro128plus>;

export class Random {
  private readonly rng: Rng;
  constructor(seed: number) {
    this.rng = prand.xoroshiro128plus(seed);
  }
  int(min: number, max: number): number {
    return prand.unsafeUniformIntDistribution(min, max, this.rng);
  }
  chance(p: number): boolean {
    return this.int(0, 999_999) < p * 1_000_000;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length - 1)]!;
  }
  /** Picks by weight: [[value, weight], ...]. */
  weighted<T>(table: readonly (readonly [T, number])[]): T {
    const total = table.reduce((sum, [, w]) => sum + w, 0);
    let roll = this.int(0, total - 1);
    for (const [value, weight] of table) {
      if (roll < weight) return value;
      roll -= weight;
    }
    return table[table.length - 1]![0];
  }
  hex(length: number): string {
    let out = "";
    while (out.length < length) out += this.int(0, 0xffffff).toString(16).padStart(6, "0");
    return out.slice(0, length);
  }
  /** A version-4-shaped UUID from the seeded stream. */
  uuid(): string {
    const h = this.hex(32);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${"89ab"[this.int(0, 3)]}${h.slice(17, 20)}-${h.slice(20, 32)}`;
  }
}

const COUNTRIES = [["US", 30], ["GB", 9], ["DE", 9], ["FR", 7], ["BR", 8], ["IN", 12], ["JP", 6], ["CA", 5], ["MX", 5], ["ES", 4], ["IT", 5]] as const;
const LOCALES: Record<string, readonly string[]> = {
  US: ["en_US", "es_US"], GB: ["en_GB"], DE: ["de_DE", "en_US"], FR: ["fr_FR"], BR: ["pt_BR"], IN: ["en_IN", "hi_IN"],
  JP: ["ja_JP"], CA: ["en_CA", "fr_CA"], MX: ["es_MX"], ES: ["es_ES"], IT: ["it_IT"],
};
const ANDROID_MODELS = [["Samsung", "SM-S921B"], ["Samsung", "SM-A546B"], ["Google", "Pixel 8"], ["Google", "Pixel 7a"], ["Xiaomi", "23049PCD8G"], ["OnePlus", "CPH2449"]] as const;
const IOS_MODELS = ["iPhone15,2", "iPhone15,4", "iPhone16,1", "iPhone14,5", "iPad13,18"] as const;
const SCREENS = ["1080x2400", "1170x2532", "1179x2556", "1440x3120", "720x1600", "1290x2796"] as const;
const BREEDS = ["Golden Retriever", "Labrador", "Beagle", "Poodle", "Dachshund", "Mixed"] as const;
const PLANS = [["free", 70], ["plus", 22], ["pro", 8]] as const;

export interface GeneratedUser {
  readonly userId: string;
  readonly devices: DeviceInput[];
}

/** One user (or, with probability `anonymousShare`, one device without a user). */
export function generateUser(random: Random, index: number, anonymousShare = 0.15): GeneratedUser {
  const anonymous = random.chance(anonymousShare);
  const userId = anonymous ? "" : `user-${index}@example.com`;
  const deviceCount = anonymous ? 1 : random.weighted([[1, 70], [2, 22], [3, 8]] as const);
  const country = random.weighted(COUNTRIES);
  const dogLover = random.chance(0.35);
  const signedUp = Date.UTC(2021, 0, 1) + random.int(0, 1_700) * 86_400_000;
  const plan = random.weighted(PLANS);
  const devices: DeviceInput[] = [];
  for (let d = 0; d < deviceCount; d++) {
    const ios = random.chance(0.45);
    const [oem, model] = ios ? (["Apple", random.pick(IOS_MODELS)] as const) : random.pick(ANDROID_MODELS);
    const apiLevel = random.int(24, 35);
    const custom: DeviceInput["custom_properties"] = {
      visits: random.int(0, 400),
      "signed-up": { date_time: new Date(signedUp).toISOString() },
      plan,
    };
    if (random.chance(0.8)) custom["dog-lover"] = dogLover;
    if (dogLover) custom["dog-breed"] = random.pick(BREEDS);
    if (random.chance(0.05)) custom["beta-tester"] = true;
    devices.push({
      install_id: random.uuid(),
      ...(anonymous ? {} : { user_id: userId }),
      properties: {
        appVersion: `3.${random.int(0, 12)}.${random.int(0, 5)}`,
        carrierCountry: country,
        locale: random.pick(LOCALES[country]!),
        model,
        oemName: oem,
        screenSize: random.pick(SCREENS),
        ...(ios ? { osVersion: `${random.int(16, 18)}.${random.int(0, 6)}`, deviceOsVersion: `${random.int(16, 18)}` } : { osApiLevel: apiLevel, osVersion: String(apiLevel - 20), deviceOsVersion: String(apiLevel) }),
      },
      custom_properties: custom,
      ...(random.chance(0.85) ? { push: { channel: ios ? ("apns" as const) : ("fcm" as const), token: random.hex(64) } } : {}),
    });
  }
  return { userId, devices };
}

/** The most steps after a session_start: five custom events or purchases and a session_end. */
const SESSION_STEPS = 6;
/** The generator's clock: everything it makes happened before this instant, so a seed always gives the same events. */
export const GENERATED_UNTIL = Date.UTC(2026, 10, 1);
/** How far back events go. */
const HISTORY_DAYS = 90;

/**
 * A device's events, `count` of them, as an SDK sends them: sessions on days over the last 90 days,
 * each a session_start, a few custom events and now and then a purchase (in one of several
 * currencies) minutes apart, and usually a session_end; a device's last event is sometimes an
 * uninstall (the KPIs' inputs).
 */
export function generateEvents(random: Random, device: DeviceInput, count: number, now = GENERATED_UNTIL): EventInput[] {
  const events: EventInput[] = [];
  const install_id = device.install_id;
  while (events.length < count) {
    // A session lasts at most SESSION_STEPS steps of up to 300 s: starting this early, it (and a minute for an uninstall) ends by `now`.
    let at = now - HISTORY_DAYS * 86_400_000 + random.int(0, HISTORY_DAYS * 86_400 - (SESSION_STEPS * 300 + 60)) * 1000;
    const next = () => new Date((at += random.int(5, 300) * 1000)).toISOString();
    events.push({ type: "session_start", install_id, timestamp: new Date(at).toISOString() });
    for (let i = random.int(0, SESSION_STEPS - 1); i > 0 && events.length < count; i--) {
      if (random.chance(0.15)) {
        const currency = random.weighted([["USD", 60], ["EUR", 20], ["GBP", 10], ["JPY", 5], ["BRL", 5]] as const);
        const amount = currency === "JPY" ? random.int(100, 20_000) : random.int(99, 9_999) / 100;
        events.push({ type: "purchase", install_id, timestamp: next(), product_id: `sku-${random.int(1, 200)}`, amount, currency });
      } else {
        events.push({ type: "custom", install_id, timestamp: next(), name: random.pick(["view_item", "add_to_cart", "share"]), properties: { screen: random.pick(["home", "detail", "cart"]) } });
      }
    }
    if (events.length < count && random.chance(0.8)) events.push({ type: "session_end", install_id, timestamp: next() });
  }
  // An uninstall after the device's last event (a reinstall may bring it back later).
  if (count > 1 && random.chance(0.02)) {
    const last = Math.max(...events.slice(0, count - 1).map((event) => Date.parse(event.timestamp)));
    events[count - 1] = { type: "uninstall", install_id, timestamp: new Date(Math.min(now, last + random.int(60, 86_400) * 1000)).toISOString() };
  }
  return events.slice(0, count);
}

export interface GenerateOptions {
  devices: number;
  eventsPerDevice: number;
  seed: number;
  onProgress?: (done: number, total: number) => void;
}

/** Generates about `devices` devices (whole users, so it stops at the first user reaching the count). */
export function generateApp(deviceStore: DeviceStore, key: AppKey, options: GenerateOptions): { devices: number; users: number; events: number } {
  const random = new Random(options.seed);
  const chunk: DeviceInput[] = [];
  let events: EventInput[] = [];
  let devices = 0;
  let users = 0;
  let eventCount = 0;
  const flush = () => {
    deviceStore.upsert(key, chunk);
    if (events.length > 0) eventCount += deviceStore.insertEvents(key, events);
    chunk.length = 0;
    events = [];
    options.onProgress?.(devices, options.devices);
  };
  for (let index = 0; devices < options.devices; index++) {
    const user = generateUser(random, index);
    if (user.userId) users++;
    for (const device of user.devices) {
      chunk.push(device);
      if (options.eventsPerDevice > 0) events.push(...generateEvents(random, device, options.eventsPerDevice));
    }
    devices += user.devices.length;
    if (chunk.length >= 20_000) flush();
  }
  flush();
  return { devices, users, events: eventCount };
}

export interface CampaignOptions {
  campaigns: number;
  /** How many of the app's devices (the first by id) each campaign goes to. */
  recipients: number;
  seed: number;
  /** The clock the campaigns are sent before (default: the generator's, GENERATED_UNTIL). */
  now?: number;
}

/**
 * Campaigns as if sent (Braze's campaigns/data_series inputs): notifications over the 30 days before the clock,
 * each delivered to the app's first `recipients` devices (a device without a push token bounces), a
 * fifth of the recipients opening it in the two days after — some twice — and a quarter of those
 * buying within four days of opening (inside the 72-hour conversion window or not).
 */
export function generateCampaigns(
  services: { store: Store; repositories: Pick<Repositories, "deviceReads" | "notifications">; devices: DeviceStore },
  key: AppKey,
  options: CampaignOptions,
): { campaigns: number; deliveries: number; events: number } {
  const random = new Random(options.seed);
  const now = options.now ?? GENERATED_UNTIL;
  const { store, repositories, devices } = services;
  const appId = store.appId(key);
  const targets = repositories.deviceReads.first(appId, options.recipients);
  let deliveries = 0;
  let eventCount = 0;
  for (let c = 0; c < options.campaigns; c++) {
    // Notification ids are unique across apps: drawn fresh, not from the seed (a second app generated with the same seed would repeat them).
    const id = randomUUID();
    const sendTime = now - random.int(1, 30 * 24) * 3_600_000;
    const delivered: string[] = [];
    store.transaction(() => {
      const content = { name: `Campaign ${c + 1}`, title: random.pick(["Sale", "New in", "We miss you"]), body: "Open the app to see more" };
      repositories.notifications.insert({ id, app_id: appId, name: content.name, content: JSON.stringify(content), target: null, state: "Sending", send_time: sendTime }, targets);
      for (const delivery of repositories.notifications.pendingDeliveries(id, targets.length)) {
        const ok = delivery.token !== null && delivery.channel !== null;
        repositories.notifications.recordOutcome(id, delivery.deviceId, ok ? "Success" : "NoPushToken", delivery.channel);
        if (ok) delivered.push(delivery.installId);
      }
      repositories.notifications.settle(id, "Completed", repositories.notifications.outcomeCounts(id));
    });
    deliveries += targets.length;
    const events: EventInput[] = [];
    // What would happen after the clock has not happened yet: left out (a campaign sent just before it has few opens).
    const push = (event: EventInput) => {
      if (Date.parse(event.timestamp) < now) events.push(event);
    };
    const iso = (ms: number) => new Date(ms).toISOString();
    for (const installId of delivered) {
      if (!random.chance(0.2)) continue;
      const opened = sendTime + random.int(1, 48 * 60) * 60_000;
      push({ type: "push_opened", install_id: installId, timestamp: iso(opened), notification_id: id });
      if (random.chance(0.3)) push({ type: "push_opened", install_id: installId, timestamp: iso(opened + random.int(1, 24 * 60) * 60_000), notification_id: id });
      if (random.chance(0.25)) {
        push({ type: "purchase", install_id: installId, timestamp: iso(opened + random.int(1, 96 * 60) * 60_000), product_id: `sku-${random.int(1, 200)}`, amount: random.int(99, 9_999) / 100, currency: "USD" });
      }
    }
    for (let first = 0; first < events.length; first += 20_000) eventCount += devices.insertEvents(key, events.slice(first, first + 20_000));
  }
  return { campaigns: options.campaigns, deliveries, events: eventCount };
}
