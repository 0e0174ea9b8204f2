// The pushplane policy pack: registers the policies; each lives with its domain's file.
import { PolicyPack } from "@pulumi/policy";
import { audienceDefinitionValid, audiencesPerAppLimit } from "./audiences.ts";
import { dataExportTokenLifetime, exportRetentionBounded, exportSasLeastPrivilege } from "./exports.ts";

export const policies = [audienceDefinitionValid, audiencesPerAppLimit, exportSasLeastPrivilege, exportRetentionBounded, dataExportTokenLifetime];

new PolicyPack("pushplane", { policies });
