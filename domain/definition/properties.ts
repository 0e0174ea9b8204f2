// The properties a definition may name: the device properties the App Center SDK captures
// (seeds: Using the Push API) and the custom properties an audience declares with their types.

export const PROPERTY_TYPES = ["string", "number", "boolean", "date_time"] as const;
export type PropertyType = (typeof PROPERTY_TYPES)[number];

export const DEVICE_PROPERTIES = {
  appVersion: "string",
  carrierCountry: "string",
  deviceOsVersion: "string",
  osApiLevel: "number",
  osVersion: "string",
  model: "string",
  locale: "string",
  oemName: "string",
  screenSize: "string",
} as const satisfies Record<string, PropertyType>;

export type DevicePropertyName = keyof typeof DEVICE_PROPERTIES;

export function isDeviceProperty(name: string): name is DevicePropertyName {
  return Object.hasOwn(DEVICE_PROPERTIES, name);
}
