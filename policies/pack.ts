// The pushplane policy pack: what `pulumi preview --policy-pack` loads.
import { PolicyPack } from "@pulumi/policy";
import { policies } from "./index.ts";

new PolicyPack("pushplane", { policies });
