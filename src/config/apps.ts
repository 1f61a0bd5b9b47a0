// The apps the bridge serves: `default` from the single-app variables, more from BRIDGE_APPS.
import { z } from "zod";

export const APP_NAME = /^[a-z0-9-]{1,32}$/;

const secret = z.string().trim().min(1);
const aesKey = z
  .string()
  .regex(/^[A-Za-z0-9+/]{43}$/, "must be the 43-character aes_key from the DingTalk console");

export const appSchema = z
  .object({
    clientId: secret,
    clientSecret: secret,
    eventToken: secret.optional(),
    eventAesKey: aesKey.optional(),
    eventOwnerKey: secret.optional(),
    consumerTokens: z.array(secret).min(1, "needs at least one consumer token"),
  })
  .refine((a) => (a.eventToken === undefined) === (a.eventAesKey === undefined), {
    message: "the event token and AES key must be set together",
    path: ["eventToken"],
  });

export const bridgeAppsSchema = z.record(z.string().regex(APP_NAME, "app names match [a-z0-9-]{1,32}"), appSchema);

export interface AppConfig {
  name: string;
  clientId: string;
  clientSecret: string;
  /** Present only when both the event token and AES key are configured. */
  events: { token: string; aesKey: string; ownerKey: string } | undefined;
  consumerTokens: string[];
}

export function toAppConfig(name: string, a: z.infer<typeof appSchema>): AppConfig {
  return {
    name,
    clientId: a.clientId,
    clientSecret: a.clientSecret,
    events:
      a.eventToken && a.eventAesKey
        ? { token: a.eventToken, aesKey: a.eventAesKey, ownerKey: a.eventOwnerKey ?? a.clientId }
        : undefined,
    consumerTokens: a.consumerTokens,
  };
}
