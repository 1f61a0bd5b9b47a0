// The consumer API with the bearer token; a refusal becomes an ApiError. Keeps the raw text, in
// which each payload is the exact JSON DingTalk sent.
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status; // 0: no answer
    this.code = code;
  }
  // A wrong token and an unknown app both answer 401.
  get auth() {
    return this.status === 401 || this.code === "bad_authorization";
  }
}

export async function call(session, path, body) {
  let res;
  try {
    res = await fetch(`/v1/${encodeURIComponent(session.app)}/${path}`, {
      method: body ? "POST" : "GET",
      headers: { authorization: `Bearer ${session.token}`, "content-type": "application/json" },
      body: body && JSON.stringify(body),
      cache: "no-store",
      credentials: "omit",
      signal: AbortSignal.timeout(15e3),
    });
  } catch {
    throw new ApiError(0, "unreachable", "the bridge did not answer");
  }
  const text = await res.text().catch(() => "");
  let doc = null;
  try {
    doc = JSON.parse(text);
  } catch {}
  const e = doc?.error;
  if (!res.ok || !doc) throw new ApiError(res.status, e?.code, e?.message ?? `the bridge answered HTTP ${res.status}`);
  return { doc, text };
}
