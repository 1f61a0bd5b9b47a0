// Consumer tokens and what each may do. A token is written bare (every scope, as before scopes
// existed) or as `scope+scope:token`; in BRIDGE_APPS also as `{token, scopes}`. The scopes:
//   drain  pull, ack, nack, extend, heartbeat, and status
//   send   sending as the robot, and what became of a send
//   read   status, history, dead letters, the outbox
//   admin  redrive, purge, replay, cancel, diagnose
import * as z from "../lib/zod";

export const SCOPES = ["drain", "send", "read", "admin"] as const;
export type Scope = (typeof SCOPES)[number];

export interface ConsumerToken {
  token: string;
  scopes: readonly Scope[];
}

// The bearer scheme's token68 syntax: a token with a space, a colon or the like could never match.
const TOKEN = /^[A-Za-z0-9._~+/-]+=*$/;
const TOKEN_RULE = "must be letters, digits and . _ ~ + / - (a bearer token can hold nothing else)";
const WRITTEN = /^(?:((?:drain|send|read|admin)(?:\+(?:drain|send|read|admin))*):)?(.*)$/;

/** `token` or `scope+scope:token`. */
const writtenToken = z.pipe(
  z.string().check(
    z.trim(),
    z.refine((v) => TOKEN.test(WRITTEN.exec(v)?.[2] ?? ""), TOKEN_RULE),
  ),
  z.transform((v): ConsumerToken => {
    const [, scopes, token] = WRITTEN.exec(v)!;
    return { token: token!, scopes: scopes ? [...new Set(scopes.split("+") as Scope[])] : [...SCOPES] };
  }),
);

const objectToken = z.pipe(
  z.strictObject({
    token: z.string().check(z.trim(), z.regex(TOKEN, TOKEN_RULE)),
    scopes: z.array(z.enum(SCOPES, "must be drain, send, read or admin")).check(z.minLength(1, "name at least one scope")),
  }),
  z.transform((t): ConsumerToken => ({ token: t.token, scopes: [...new Set(t.scopes)] })),
);

export const consumerTokenSchema = z.union([writtenToken, objectToken]);
