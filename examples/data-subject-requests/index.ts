// Data-subject requests as code, reviewed in a pull request like any other change: an erasure and an
// access request, their subjects' identifiers kept as secret stack config (encrypted in Git and in
// state); `pulumi up` carries them out and records the service's receipts. The access request's
// document lands in a private container of the stack, written through a create+write SAS that
// rotates. Set the subjects with
//   pulumi config set --secret erasure:userId <user id>
//   pulumi config set --secret erasure:email <email>
//   pulumi config set --secret access:userId <user id>
// and the storage account with `pulumi config set --secret pushplane:storageConnectionString …`.
// Check it with the policy pack: `pulumi preview --policy-pack <path to @pushplane/policy-pack>`
// (dsr-cleanup fails when anything else in the stack still names the erased subject; dsr-due-date
// reports a request past its due date). Removing a request later keeps it and its receipt in the service.
import * as pulumi from "@pulumi/pulumi";
import { ContainerSasToken, DataSubjectRequest, StorageContainer } from "@pushplane/pulumi";

const erasureSubject = new pulumi.Config("erasure");
const erasure = new DataSubjectRequest("ticket-4711-erasure", {
  kind: "erasure",
  userId: erasureSubject.requireSecret("userId"),
  customProperties: { email: erasureSubject.requireSecret("email") },
});

// Where access documents go: private, kept 30 days (the policy pack bounds it).
const answers = new StorageContainer("dsr-answers", { retentionDays: 30, metadata: { classification: "personal_data" } });
const answersWriter = new ContainerSasToken("dsr-answers-writer", { containerName: answers.name, permissions: "cw", lifetimeDays: 7, rotationDays: 2 });

const accessSubject = new pulumi.Config("access");
const access = new DataSubjectRequest("ticket-4712-access", {
  kind: "access",
  userId: accessSubject.requireSecret("userId"),
  containerSasUrl: answersWriter.sasUrl,
});

export const erasureState = erasure.state;
export const erasureReceipt = erasure.receipt;
export const dueAt = erasure.dueAt;
export const accessState = access.state;
/** Where the access document was written (container and blob; no credential). */
export const accessDocument = access.receipt.apply((receipt) => receipt?.document ?? null);
