// The service's parts, built once per app instance and handed to the route modules.
import { AudienceCounter } from "./audience-counts.ts";
import { DeviceStore } from "./devices.ts";
import type { Store } from "./store.ts";

export interface Services {
  readonly store: Store;
  readonly devices: DeviceStore;
  readonly counter: AudienceCounter;
}

export function createServices(store: Store): Services {
  const devices = new DeviceStore(store);
  return { store, devices, counter: new AudienceCounter(store, devices) };
}
