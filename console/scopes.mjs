// What the signed-in token may do (status `token.scopes`), and what each part of the console needs:
// the console offers only what the bridge would allow, and says why the rest is missing.
import { el } from "./dom.mjs";

const NEEDS = { read: "read", redrive: "admin", purge: "admin", replay: "admin", cancel: "admin" };

export const scopesOf = (s) => s.token?.scopes ?? [];

export const may = (s, what) => scopesOf(s).includes(NEEDS[what]);

// The line under the header: the token's scopes, and what they leave out here.
export function renderScopes(s) {
  const scopes = scopesOf(s);
  const missing = [
    !may(s, "read") && "history, dead letters and the outbox list need read",
    !may(s, "replay") && "replay, cancel, redrive and purge need admin",
  ].filter(Boolean);
  document
    .getElementById("token")
    .replaceChildren(
      "This token may: ",
      el("b", { "data-scopes": scopes.join(" ") }, scopes.join(", ") || "nothing"),
      missing.length ? `. Read-only here: ${missing.join("; ")}.` : ".",
    );
}
