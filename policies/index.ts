// Every pushplane policy, each living with its domain's file; pack.ts serves them as a policy pack.
import { audienceDefinitionValid, audienceNameRules, audiencesPerAppLimit } from "./audiences.ts";
import { dsrCleanup, dsrDueDate } from "./dsr.ts";
import { containerPrivate, dataExportTokenLifetime, exportJobWindows, exportRetentionBounded, exportSasLeastPrivilege, exportScheduleInterval } from "./exports.ts";

export const policies = [
  audienceDefinitionValid,
  audienceNameRules,
  audiencesPerAppLimit,
  exportSasLeastPrivilege,
  exportRetentionBounded,
  containerPrivate,
  dataExportTokenLifetime,
  exportJobWindows,
  exportScheduleInterval,
  dsrCleanup,
  dsrDueDate,
];
