// A campaign's push side as code: the app's FCM credentials (a secret: encrypted in state and at
// rest in the service) and the audiences the campaign targets, with their live sizes as outputs.
// Needs `pulumi config set --secret campaign:fcmServerKey <key>` besides the pushplane:* settings.
import * as pulumi from "@pulumi/pulumi";
import { Audience, PushConfig } from "@pushplane/pulumi";

const campaign = new pulumi.Config("campaign");

const credentials = new PushConfig("fcm", { fcm: { serverKey: campaign.requireSecret("fcmServerKey") } });

const dogProperties = { "dog-lover": "boolean", "dog-breed": "string" } as const;

const goldenRetrievers = new Audience("golden-retriever-owners", {
  definition: "dog-lover eq true and dog-breed eq 'Golden Retriever'",
  description: "Dog lovers with a golden retriever",
  customProperties: dogProperties,
});

const usAndroidDogLovers = new Audience("us-android-dog-lovers", {
  definition: "dog-lover eq true and carrierCountry eq 'US' and osApiLevel ge 30",
  description: "US dog lovers on Android 11 or newer",
  customProperties: dogProperties,
});

export const pushConfig = { type: credentials.type, key: credentials.maskedSecret };
export const goldenRetrieverOwners = goldenRetrievers.estimatedCount;
export const usAndroidDogLoversCount = usAndroidDogLovers.estimatedCount;
