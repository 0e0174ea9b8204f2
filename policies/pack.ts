// The pushplane policy pack: registers the policies; each lives with its domain's file.
import { PolicyPack } from "@pulumi/policy";
import { audienceDefinitionValid, audiencesPerAppLimit } from "./audiences.ts";
import { dataExportTokenLifetime, exportJobWindows, exportRetentionBounded, exportSasLeastPrivilege } from "./exports.ts";

export const policies = [audienceDefinitionValid, audiencesPerAppLimit, exportSasLeastPrivilege, exportRetentionBounded, dataExportTokenLifetime, exportJobWindows];

new PolicyPack("pushplane", { policies });
