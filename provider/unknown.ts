// At preview, an input computed from a resource not yet created reaches `check` as Pulumi's
// "unknown" sentinel; validation of that field waits for the real value (at `up`).
import { unknownValue } from "@pulumi/pulumi/runtime/rpc";

export const isUnknown = (value: unknown): boolean => value === unknownValue;
