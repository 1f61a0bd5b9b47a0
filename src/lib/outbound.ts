// Every call out of the bridge (DingTalk's APIs, session webhooks, alert sinks) goes through here: it
// never follows a redirect, since a 3xx must not lead the bridge anywhere its settings and DingTalk's
// hosts do not name (the redirect's target sees nothing), and it always has a time limit, so a peer
// that never answers cannot hold up the caller.

export type CallResult = { status: number; text: string } | { error: string };

export async function callOut(request: Request, timeoutMs: number): Promise<CallResult> {
  try {
    const res = await fetch(request, { redirect: "manual", signal: AbortSignal.timeout(timeoutMs) });
    return { status: res.status, text: await res.text() };
  } catch (error) {
    // The error's name only: a message may carry the URL, and a URL may carry a credential.
    return { error: error instanceof Error ? error.name : "error" };
  }
}

export function isRedirect(status: number): boolean {
  return status >= 300 && status < 400;
}
