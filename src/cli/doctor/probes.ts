// What `dtbridge doctor` asks: the bridge's /health and diagnose route, and a GET of the public
// callback URL. Each answers data, or the error that stopped it.
import { BridgeNetworkError, errorForStatus } from "../../client/errors";
import type { UrlProbe } from "./callback-url";
import type { Diagnosis } from "./checks";

const HEALTH_TIMEOUT_MS = 10_000;
/** diagnose makes up to four calls to DingTalk (10 s each at most) and one to the alert sink (5 s). */
const DIAGNOSE_TIMEOUT_MS = 50_000;
const URL_TIMEOUT_MS = 10_000;

export type HealthProbe = { status: number; body: unknown; ms: number } | { error: string };

function why(error: unknown): string {
  if (error instanceof Error && error.name === "TimeoutError") return "no answer in time";
  const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : "";
  return error instanceof Error ? `${error.message}${cause}` : String(error);
}

async function getJson(url: string, timeoutMs: number, init: RequestInit = {}): Promise<{ status: number; body: unknown }> {
  // A redirect is reported as what answered, never followed: doctor checks this address, not another.
  const res = await fetch(url, { ...init, redirect: "manual", signal: AbortSignal.timeout(timeoutMs) });
  const text = await res.text();
  let body: unknown = null;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: the caller says what answered
  }
  return { status: res.status, body };
}

export async function probeHealth(base: string): Promise<HealthProbe> {
  const started = performance.now();
  try {
    const { status, body } = await getJson(`${base.replace(/\/+$/, "")}/health`, HEALTH_TIMEOUT_MS);
    return { status, body, ms: Math.round(performance.now() - started) };
  } catch (error) {
    return { error: why(error) };
  }
}

/** The bridge checks DingTalk and the alert sink itself; errors are the client's typed ones. */
export async function diagnose(base: string, app: string, token: string): Promise<Diagnosis> {
  let answer: { status: number; body: unknown };
  try {
    answer = await getJson(`${base.replace(/\/+$/, "")}/v1/${encodeURIComponent(app)}/diagnose`, DIAGNOSE_TIMEOUT_MS, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ sink: true }),
    });
  } catch (error) {
    throw new BridgeNetworkError(`no answer from the bridge's diagnose (${why(error)})`, null, "network");
  }
  if (answer.status !== 200) {
    const detail = (answer.body as { error?: { code?: string; message?: string } } | null)?.error ?? {};
    throw errorForStatus(answer.status, detail.code ?? "http_error", detail.message ?? `HTTP ${answer.status}`);
  }
  return answer.body as Diagnosis;
}

export async function probeUrl(url: string): Promise<UrlProbe> {
  try {
    return await getJson(url, URL_TIMEOUT_MS);
  } catch (error) {
    return { error: why(error) };
  }
}
