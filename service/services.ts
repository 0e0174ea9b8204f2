// The service's parts, built once per app instance and handed to the route modules.
import { AudienceCounter } from "./audience-counts.ts";
import { DeviceStore } from "./devices.ts";
import { NotificationService, type PushSender } from "./notifications.ts";
import { PushConfigStore } from "./push-config.ts";
import type { Store } from "./store.ts";

export interface Services {
  readonly store: Store;
  readonly devices: DeviceStore;
  readonly counter: AudienceCounter;
  readonly pushConfigs: PushConfigStore;
  readonly notifications: NotificationService;
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
  const pushConfigs = new PushConfigStore(store);
  const notifications = new NotificationService(store, counter, pushConfigs, sender);
  return {
    store,
    devices,
    counter,
    pushConfigs,
    notifications,
    async close() {
      counter.close();
      await notifications.close();
    },
  };
}
