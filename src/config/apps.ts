// The apps the bridge serves: `default` from the single-app variables, more from BRIDGE_APPS.
import * as z from "../lib/zod";
import { type ConsumerToken, consumerTokenSchema } from "./tokens";

export const APP_NAME = /^[a-z0-9-]{1,32}$/;

/** How robot messages are grouped for ordered, one-consumer-at-a-time hand-out. */
export const ORDERINGS = ["conversation", "sender", "off"] as const;
export type Ordering = (typeof ORDERINGS)[number];
export const orderingSchema = z.enum(ORDERINGS, "must be conversation, sender or off");

const secret = z.string().check(z.trim(), z.minLength(1));
const aesKey = z.string().check(z.regex(/^[A-Za-z0-9+/]{43}$/, "must be the 43-character aes_key from the DingTalk console"));

export const appSchema = z
  .object({
    clientId: secret,
    clientSecret: secret,
    eventToken: z.optional(secret),
    eventAesKey: z.optional(aesKey),
    eventOwnerKey: z.optional(secret),
    consumerTokens: z.array(consumerTokenSchema).check(z.minLength(1, "needs at least one consumer token")),
    streamLink: z.optional(z.boolean()),
    ordering: z.optional(orderingSchema),
  })
  .check(
    z.refine((a) => (a.eventToken === undefined) === (a.eventAesKey === undefined), {
      message: "the event token and AES key must be set together",
      path: ["eventToken"],
    }),
  );

export interface AppConfig {
  name: string;
  clientId: string;
  clientSecret: string;
  /** Present only when both the event token and AES key are configured. */
  events: { token: string; aesKey: string; ownerKey: string } | undefined;
  /** Each opens this app's consumer API for its scopes. */
  consumerTokens: readonly ConsumerToken[];
  /** The bridge holds the app's DingTalk Stream connection itself. */
  streamLink: boolean;
  ordering: Ordering;
}

/** What an app takes from the bridge-wide settings when BRIDGE_APPS does not say. */
export interface AppDefaults {
  streamLink: boolean;
  ordering: Ordering;
}

export function toAppConfig(name: string, a: z.infer<typeof appSchema>, defaults: AppDefaults): AppConfig {
  return {
    name,
    clientId: a.clientId,
    clientSecret: a.clientSecret,
    events:
      a.eventToken && a.eventAesKey ? { token: a.eventToken, aesKey: a.eventAesKey, ownerKey: a.eventOwnerKey ?? a.clientId } : undefined,
    consumerTokens: a.consumerTokens,
    streamLink: a.streamLink ?? defaults.streamLink,
    ordering: a.ordering ?? defaults.ordering,
  };
}
