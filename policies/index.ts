// Every pushplane policy, each living with its domain's file; pack.ts serves them as a policy pack.
import { audienceDefinitionValid, audiencesPerAppLimit } from "./audiences.ts";
import { dsrCleanup, dsrDueDate } from "./dsr.ts";
import { dataExportTokenLifetime, exportJobWindows, exportRetentionBounded, exportSasLeastPrivilege } from "./exports.ts";

export const policies = [audienceDefinitionValid, audiencesPerAppLimit, exportSasLeastPrivilege, exportRetentionBounded, dataExportTokenLifetime, exportJobWindows, dsrCleanup, dsrDueDate];
