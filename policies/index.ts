// Every pushplane policy, each living with its domain's file; pack.ts serves them as a policy pack,
// each reporting config keys its schema does not declare (config-keys.ts).
import { audienceDefinitionValid, audienceNameRules, audienceSendLimit, audiencesPerAppLimit } from "./audiences.ts";
import { withConfigKeysChecked } from "./config-keys.ts";
import { configCredentialsSecret, configEndpointHttps } from "./config.ts";
import { dsrCleanup, dsrDueDate } from "./dsr.ts";
import { containerPrivate, dataExportTokenLifetime, exportJobWindows, exportRetentionBounded, exportSasLeastPrivilege, exportScheduleInterval, exportUsersByIdLimit } from "./exports.ts";

export const policies = ([
  audienceDefinitionValid,
  audienceNameRules,
  audiencesPerAppLimit,
  audienceSendLimit,
  exportSasLeastPrivilege,
  exportRetentionBounded,
  containerPrivate,
  dataExportTokenLifetime,
  exportJobWindows,
  exportUsersByIdLimit,
  exportScheduleInterval,
  dsrCleanup,
  dsrDueDate,
  configCredentialsSecret,
  configEndpointHttps,
] as const).map((policy) => withConfigKeysChecked(policy));
