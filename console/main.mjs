// The wiring: sign-in and sign-out, a refresh every 5 s (paused while the tab is hidden), the
// error states, and the dead-letter actions behind a confirmation.
import { ApiError, call } from "./api.mjs";
import { plural } from "./dom.mjs";
import { when } from "./format.mjs";
import { rawPayloads } from "./json-text.mjs";
import { forgetToken, loadSession, saveSession } from "./session.mjs";
import { renderAlerts } from "./view-alerts.mjs";
import { renderDeadLetters } from "./view-dead-letters.mjs";
import { renderHistory } from "./view-history.mjs";
import { renderOutbox } from "./view-outbox.mjs";
import { renderQueue } from "./view-queue.mjs";
import { renderRouting } from "./view-routing.mjs";

const EVERY_MS = 5e3;
const $ = (id) => document.getElementById(id);
const form = $("sign-in");

let session = loadSession();
let samples = [];
let status;
let okAt;
let timer;
let inFlight;
let note = "";

async function events(path) {
  const { doc, text } = await call(session, path);
  return { events: doc.events, raws: rawPayloads(text) };
}

function banner(text) {
  $("banner").textContent = text;
  $("banner").hidden = !text;
}

function schedule() {
  clearTimeout(timer);
  if (session.token && !document.hidden) timer = setTimeout(refresh, EVERY_MS);
}

// One round: status, then the newest history and the dead letters; all shown, or none.
function refresh() {
  clearTimeout(timer);
  if (!session.token) return;
  inFlight ??= (async () => {
    const asked = session;
    try {
      const s = (await call(asked, "status")).doc;
      const [history, dead] = await Promise.all([
        events("events?order=desc&limit=25"),
        s.deadLetters ? events("dead-letters?limit=100") : { events: [] },
      ]);
      if (asked !== session) return;
      status = s;
      samples = [...samples.slice(-719), { t: s.now, depth: s.depth, oldestMs: s.oldestUndeliveredAgeMs ?? 0 }];
      renderRouting(s);
      renderQueue(s, samples);
      renderAlerts(s);
      renderDeadLetters(s, dead, act, note);
      renderHistory(history);
      renderOutbox(s);
      okAt = Date.now();
      $("updated").textContent = `Updated ${when(okAt)}`;
      banner("");
    } catch (error) {
      if (asked !== session) return;
      if (error instanceof ApiError && error.auth) signOut(`The bridge refused this token for app "${asked.app}" (or has no such app).`);
      else banner(`Cannot refresh: ${error.message}.${okAt ? ` Showing what it said at ${when(okAt)}.` : ""} Retrying every 5 s.`);
    } finally {
      inFlight = null;
      schedule();
    }
  })();
  return inFlight;
}

async function act(action, ids) {
  const what = `${ids ? "" : "all "}${plural(ids ? ids.length : status.deadLetters, "dead letter")}`;
  if (!confirm(action === "redrive" ? `Redrive ${what} back into the queue?` : `Delete ${what} for good? This cannot be undone.`)) return;
  try {
    const { doc } = await call(session, `dead-letters/${action}`, ids ? { ids } : action === "purge" ? { all: true } : {});
    note = `${action === "redrive" ? `Redrove ${doc.redriven}` : `Purged ${doc.purged}`} at ${when(Date.now())}.`;
  } catch (error) {
    if (error.auth) return signOut("The bridge refused this token.");
    note = `The ${action} failed: ${error.message}.`;
  }
  await inFlight; // a round begun before the action would show the count from before it
  await refresh();
}

function show(signedIn) {
  form.hidden = signedIn;
  $("board").hidden = $("session").hidden = !signedIn;
  $("app-name").textContent = signedIn ? session.app : "";
}

function signIn() {
  show(true);
  $("updated").textContent = "Loading…";
  refresh();
}

function signOut(message = "") {
  forgetToken();
  session = loadSession();
  samples = [];
  okAt = null;
  note = "";
  clearTimeout(timer);
  $("payload").close();
  for (const body of document.querySelectorAll("section > div")) body.replaceChildren();
  show(false);
  banner("");
  form.app.value = session.app;
  $("sign-in-error").textContent = message;
  form.token.focus();
}

form.onsubmit = (e) => {
  e.preventDefault();
  saveSession(form.app.value.trim(), form.token.value.trim());
  session = loadSession();
  form.token.value = "";
  $("sign-in-error").textContent = "";
  signIn();
};
$("sign-out").onclick = () => signOut();
$("refresh").onclick = refresh;
document.onvisibilitychange = () => (document.hidden ? clearTimeout(timer) : refresh());

session.token ? signIn() : signOut();
