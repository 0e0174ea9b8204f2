// The pushplane policy pack: registers the policies; each lives with its domain's file.
import { PolicyPack } from "@pulumi/policy";
import { audienceDefinitionValid, audiencesPerAppLimit } from "./audiences.ts";

export const policies = [audienceDefinitionValid, audiencesPerAppLimit];

new PolicyPack("pushplane", { policies });
