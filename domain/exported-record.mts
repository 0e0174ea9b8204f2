// The identifiers an exported record holds, typed as a data-subject request types its subject's
// (domain/dsr.ts). Erasable-only TypeScript with no imports, in a .mts file: the device export's page
// reader thread loads it as Node runs it, without a loader.

/** One identifier: what it is (`user_id`, `install_id`, `custom_property:<name>`), and its value. */
export interface DsrIdentifier {
  readonly type: string;
  readonly value: string;
}

/** Fields of an exported record that hold a user id (App Center: user_id; Braze: external_id, external_user_id). */
const USER_ID_FIELDS = new Set(["user_id", "external_id", "external_user_id"]);
/** Fields of an exported record that hold a map of custom property values (App Center, Braze). */
const CUSTOM_PROPERTY_FIELDS = new Set(["custom_properties", "custom_attributes"]);

/**
 * The identifiers an exported record holds (a device export line, a Braze user object, a raw event
 * CSV row as a header-keyed object), typed as `identifiersOf` types a subject's, at any depth (a
 * user object's devices each hold an install id). What an export's subject filter records and what
 * an erasure of exported copies matches, so the two cannot disagree.
 */
export function identifiersOfRecord(record: unknown): DsrIdentifier[] {
  const found: DsrIdentifier[] = [];
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(walk);
    else if (value !== null && typeof value === "object") {
      for (const [field, inner] of Object.entries(value)) {
        if (typeof inner === "string" && inner !== "") {
          if (USER_ID_FIELDS.has(field)) found.push({ type: "user_id", value: inner });
          else if (field === "install_id") found.push({ type: "install_id", value: inner.toLowerCase() });
        } else if (CUSTOM_PROPERTY_FIELDS.has(field) && inner !== null && typeof inner === "object" && !Array.isArray(inner)) {
          for (const [name, property] of Object.entries(inner)) if (typeof property === "string") found.push({ type: `custom_property:${name}`, value: property });
        } else walk(inner);
      }
    }
  };
  walk(record);
  return found;
}
