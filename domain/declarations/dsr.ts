// The DataSubjectRequest resource, declared: a GDPR request for one subject, its identifiers secret
// (encrypted in Git and state), carried out by the service; the receipt comes back as outputs.
import { z } from "zod";
import { appFields, declareResource } from "../declare-resource.ts";
import { DSR_KINDS, DSR_STATES, dsrReceiptSchema, dsrSubjectSchema, hashedIdentifierSchema } from "../dsr.ts";
import { LIMITS } from "../limits.ts";

export const dataSubjectRequestResource = declareResource({
  kind: "DataSubjectRequest",
  doc: "A data-subject request (GDPR) for one subject: an access request writes everything the service holds for the subject as one JSON document into a container; an erasure removes the subject's devices, properties, events and deliveries, rewrites or deletes what names them and rewrites the export blobs that hold the subject, with a receipt. Removing the resource from the program keeps the receipt in the service and restores nothing; any change makes a new request; `refresh` reports an erased subject that has come back.",
  source: "seeds: Export Push Data; How To Delete End-User Data; GDPR Art. 12(3), 17",
  inputs: {
    ...appFields({ replaces: true }),
    kind: { schema: z.enum(DSR_KINDS), doc: "access (GDPR Art. 15: a document of what the service holds) or erasure (Art. 17).", replaces: true },
    userId: { schema: dsrSubjectSchema.shape.user_id, doc: "The subject's user id (App Center's user id, Braze's external id).", secret: true, replaces: true },
    installIds: { schema: dsrSubjectSchema.shape.install_ids, doc: "The subject's install ids.", secret: true, replaces: true, limits: [LIMITS.dsrSubjectIdentifiers] },
    customProperties: {
      schema: dsrSubjectSchema.shape.custom_properties,
      doc: "Values of the app's custom properties that identify the subject, by property (e.g. { email: … }).",
      secret: true,
      replaces: true,
    },
    containerSasUrl: {
      schema: z.string().url().optional(),
      doc: "Access only: the container the document is written to, as a SAS URL with create and write permissions (e.g. a ContainerSasToken's url); secret.",
      secret: true,
      replaces: true,
    },
  },
  outputs: {
    requestId: { schema: z.string(), doc: "The request's id in the service." },
    state: { schema: z.enum(DSR_STATES), doc: "Pending, Running, Completed, Failed or Cancelled." },
    subjectHashes: { schema: z.array(hashedIdentifierSchema), doc: "Each identifier as the service's keyed hash: what the receipt and the policy pack compare, never the value." },
    receipt: { schema: dsrReceiptSchema.nullable(), doc: "What was found and removed or rewritten, once Completed." },
    dueAt: { schema: z.string(), doc: "Received plus one month: the GDPR answer window." },
    subjectReturned: {
      schema: z.number().int().optional(),
      doc: "A completed erasure's subject checked again at each read (refresh): the devices that hold its identifiers now. Above 0 the subject has come back (a new device with the same user id, say): preview shows the request replaced, and up erases again.",
    },
  },
  refine: (request, pending) => {
    if (pending.has("kind")) return [];
    if (request.kind === "access" && !request.containerSasUrl && !pending.has("containerSasUrl")) {
      return [{ property: "containerSasUrl", reason: "an access request writes its document into a container: set containerSasUrl (a SAS URL with create and write permissions)" }];
    }
    if (request.kind === "erasure" && request.containerSasUrl) return [{ property: "containerSasUrl", reason: "only an access request writes a document; an erasure takes no containerSasUrl" }];
    const named = ["userId", "installIds", "customProperties"].some((input) => pending.has(input));
    const count = (request.userId ? 1 : 0) + (request.installIds?.length ?? 0) + Object.keys(request.customProperties ?? {}).length;
    if (!named && count === 0) return [{ property: "userId", reason: "the request names no one: set userId, installIds or customProperties" }];
    if (count > LIMITS.dsrSubjectIdentifiers.value) return [{ property: "installIds", reason: `the subject's identifiers must be at most ${LIMITS.dsrSubjectIdentifiers.value} (got ${count}; ${LIMITS.dsrSubjectIdentifiers.source})` }];
    return [];
  },
});
