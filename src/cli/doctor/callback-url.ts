// The robot callback URL DingTalk calls in HTTP mode: which URL, whether DingTalk could ever call it,
// and what answered there. Pure: probes.ts fetches it.
import { isLoopback } from "../../lib/loopback";
import { type CheckLine, fail, pass, skip } from "./checks";

/** `--public-url`, else the robot URL status reports, else the one on the URL doctor was given. */
export function callbackUrl(app: string, publicUrl: string | undefined, robotUrl: string | null | undefined, bridgeUrl: string): string {
  if (publicUrl) return `${new URL(publicUrl).origin}/dingtalk/${app}/robot`;
  return robotUrl ?? `${new URL(bridgeUrl).origin}/dingtalk/${app}/robot`;
}

const PRIVATE = [/^10\./, /^192\.168\./, /^172\.(1[6-9]|2\d|3[01])\./, /^169\.254\./, /^(fc|fd)[0-9a-f]{2}:/i];

/** Why DingTalk could never call `url`, as a failed or skipped line; null when it could. */
export function unusable(url: URL, checked: "given" | "reported"): CheckLine | null {
  const host = url.hostname.replace(/^\[|\]$/g, "");
  if (isLoopback(host)) {
    return skip(
      "callback-url",
      `${url.href} is on this machine, where DingTalk cannot call it (fine for a local run against the fake DingTalk); ${
        checked === "reported" ? "set PUBLIC_URL on the bridge, or " : ""
      }pass --public-url https://<your domain> to check the public one`,
    );
  }
  if (PRIVATE.some((p) => p.test(host))) {
    return fail(
      "callback-url",
      `${url.href} is a private address DingTalk cannot reach`,
      "put the bridge behind a public https domain and set PUBLIC_URL",
    );
  }
  if (url.protocol !== "https:") {
    return fail(
      "callback-url",
      `${url.href} is not https: DingTalk calls only https:// URLs`,
      "serve the bridge over HTTPS: a custom domain on Cloudflare, or Caddy in front of dtbridge serve (compose.yaml)",
    );
  }
  if (host === "workers.dev" || host.endsWith(".workers.dev")) {
    return fail(
      "callback-url",
      `${url.href} is on workers.dev, which is blocked or DNS-polluted from mainland China: DingTalk's callbacks cannot count on reaching it`,
      "attach a custom domain (routes in wrangler.production.toml, then npm run deploy), set PUBLIC_URL to it and enter that URL in DingTalk's console",
    );
  }
  return null;
}

/** What a GET of the callback URL got: an answer, or none. */
export type UrlProbe = { status: number; body: unknown } | { error: string };

/**
 * A GET of the robot URL answers 404 `not_found` from the bridge itself (the route takes POST
 * only): proof that this URL reaches the bridge, without a callback the bridge would count as refused.
 */
export function judgeProbe(url: string, probe: UrlProbe): CheckLine {
  if ("error" in probe) {
    return fail(
      "callback-url",
      `${url} did not answer from here (${probe.error})`,
      "check that the domain's DNS points at the bridge and that nothing in front of it blocks /dingtalk/; this checks from where doctor runs, not from DingTalk",
    );
  }
  const code = (probe.body as { error?: { code?: unknown } } | null)?.error?.code;
  if (probe.status === 404 && code === "not_found") return pass("callback-url", `${url} reaches the bridge over https`);
  return fail(
    "callback-url",
    `${url} answers HTTP ${probe.status}, but not as the bridge does`,
    "check that the domain routes to the bridge (a proxy in front must pass /dingtalk/* through unchanged)",
  );
}

/** Stream on: DingTalk never calls the bridge, unless the operator switches the app to HTTP mode. */
export function notNeeded(url: string): CheckLine {
  return skip(
    "callback-url",
    `not needed while the bridge holds Stream; if routing gets stuck and you switch the app to HTTP mode, DingTalk will call ${url} (pass --public-url to check it now)`,
  );
}
