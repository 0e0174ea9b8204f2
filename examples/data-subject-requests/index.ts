// A data subject asked to be erased: the request is reviewed in a pull request like any other change,
// its identifiers kept as secret stack config (encrypted in Git and in state), and `pulumi up`
// carries it out and records the service's receipt. Set the subject with
//   pulumi config set --secret erasure:userId <user id>
//   pulumi config set --secret erasure:email <email>
// Removing the resource later keeps the request and its receipt in the service.
import * as pulumi from "@pulumi/pulumi";
import { DataSubjectRequest } from "@pushplane/pulumi";

const subject = new pulumi.Config("erasure");
const erasure = new DataSubjectRequest("ticket-4711-erasure", {
  kind: "erasure",
  userId: subject.requireSecret("userId"),
  customProperties: { email: subject.requireSecret("email") },
});

export const state = erasure.state;
export const receipt = erasure.receipt;
export const dueAt = erasure.dueAt;
