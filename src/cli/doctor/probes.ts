// What `dtbridge doctor` asks besides the client's calls: the bridge's /health and a GET of the
// public callback URL, as raw answers (a 503 is data here). Each answers data, or the error that stopped it.
import type { UrlProbe } from "./callback-url";

const HEALTH_TIMEOUT_MS = 10_000;
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

export async function probeUrl(url: string): Promise<UrlProbe> {
  try {
    return await getJson(url, URL_TIMEOUT_MS);
  } catch (error) {
    return { error: why(error) };
  }
}
