// The service's parts, built once per app instance and handed to the route modules.
import { AudienceCounter } from "./audience-counts.ts";
import { DeviceStore } from "./devices.ts";
import { ContinuousExports } from "./exports/continuous.ts";
import { ExportService } from "./exports/jobs.ts";
import { RetentionService } from "./exports/retention.ts";
import { NotificationService, type PushSender } from "./notifications.ts";
import { PushConfigStore } from "./push-config.ts";
import { SecretBox } from "./secret-box.ts";
import type { Store } from "./store.ts";

export interface Services {
  readonly store: Store;
  readonly box: SecretBox;
  readonly devices: DeviceStore;
  readonly counter: AudienceCounter;
  readonly pushConfigs: PushConfigStore;
  readonly notifications: NotificationService;
  readonly exports: ExportService;
  readonly retention: RetentionService;
  readonly continuousExports: ContinuousExports;
  /** Stops background work (recounts, deliveries) so the store can close. */
  close(): Promise<void>;
}

export function createServices(store: Store, sender?: PushSender): Services {
  // Devices changing makes the app's audience counts stale: mark them and recount soon.
  const devices: DeviceStore = new DeviceStore(store, (key) => {
    store.markAudiencesCalculating(key);
    counter.schedule(key);
  });
  const counter = new AudienceCounter(store, devices);
  const box = new SecretBox(store.dataDir);
  const pushConfigs = new PushConfigStore(store, box);
  const notifications = new NotificationService(store, counter, pushConfigs, sender);
  const exports = new ExportService(store, devices, box, counter);
  const retention = new RetentionService(store, box);
  const continuousExports = new ContinuousExports(store, box);
  return {
    store,
    box,
    devices,
    counter,
    pushConfigs,
    notifications,
    exports,
    retention,
    continuousExports,
    async close() {
      retention.close();
      await continuousExports.close();
      counter.close();
      await notifications.close();
      await exports.close();
    },
  };
}
