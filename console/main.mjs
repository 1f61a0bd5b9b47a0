// The wiring: sign-in and sign-out, a refresh every 5 s (paused while the tab is hidden), the
// error states, the history and outbox pickers, and the actions behind a confirmation.
import { ApiError, call } from "./api.mjs";
import { when } from "./format.mjs";
import { fromQuery, historyPath, newestQuery, nextQuery, previousQuery } from "./history-query.mjs";
import { rawPayloads } from "./json-text.mjs";
import { may, renderScopes } from "./scopes.mjs";
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
const filter = $("history-filter");
const fate = $("outbox-state");

let session = loadSession();
let samples = [];
let status;
let okAt;
let timer;
let inFlight;
let notes = {};
let query = newestQuery();

async function events(path) {
  const { doc, text } = await call(session, path);
  return { events: doc.events, nextAfterSeq: doc.nextAfterSeq, raws: rawPayloads(text) };
}

function banner(text) {
  $("banner").textContent = text;
  $("banner").hidden = !text;
}

function schedule() {
  clearTimeout(timer);
  if (session.token && !document.hidden) timer = setTimeout(refresh, EVERY_MS);
}

// What the token may read, fetched in one round after status; all shown, or none.
async function load(s, q) {
  if (!may(s, "read")) return {};
  const [history, dead, sends] = await Promise.all([
    events(historyPath(q)),
    s.deadLetters ? events("dead-letters?limit=100") : { events: [] },
    call(session, `outbox?limit=50${fate.value ? `&state=${fate.value}` : ""}`),
  ]);
  return { history, dead, sends: sends.doc.sends };
}

function render(s, data, q) {
  const admin = may(s, "replay");
  const act = run;
  renderScopes(s);
  filter.hidden = fate.parentElement.hidden = !may(s, "read");
  renderRouting(s);
  renderQueue(s, samples);
  renderAlerts(s);
  const unread = { admin, act, note: "This token may not read these: they need the read scope.", query: q };
  renderDeadLetters(s, data.dead ?? { events: [] }, data.dead ? { admin, act, note: notes["dead-letters"] } : unread);
  renderHistory(data.history ?? { events: [], raws: [] }, {
    ...(data.history ? { admin, act, note: notes.history } : unread),
    query: q,
    conversation: (conversationId) => show(newestQuery({ conversationId })),
    newest: () => show(newestQuery(q)),
    oldest: () => show(fromQuery(q, 0)),
    next: (page) => show(nextQuery(q, page)),
    previous: () => show(previousQuery(q)),
  });
  renderOutbox(s, data.sends ?? null, { admin, act, note: notes.outbox });
}

// One round: status, then what the token may read; all shown, or none.
function refresh() {
  clearTimeout(timer);
  if (!session.token) return;
  inFlight ??= (async () => {
    const [asked, q] = [session, query];
    try {
      const s = (await call(asked, "status")).doc;
      const data = await load(s, q);
      if (asked !== session || q !== query) return;
      status = s;
      samples = [...samples.slice(-719), { t: s.now, depth: s.depth, oldestMs: s.oldestUndeliveredAgeMs ?? 0 }];
      render(s, data, q);
      okAt = Date.now();
      $("updated").textContent = `Updated ${when(okAt)}`;
      banner("");
    } catch (error) {
      if (asked !== session || q !== query) return;
      if (error instanceof ApiError && error.auth) signOut(`The bridge refused this token for app "${asked.app}" (or has no such app).`);
      else if (error instanceof ApiError && error.code === "scope_refused" && !status)
        signOut(`The console cannot show this app with this token: ${error.message}.`);
      else banner(`Cannot refresh: ${error.message}.${okAt ? ` Showing what it said at ${when(okAt)}.` : ""} Retrying every 5 s.`);
    } finally {
      inFlight = null;
      schedule();
    }
  })();
  return inFlight;
}

// A new history query: shown at once (a round already under way for the old one is dropped).
async function show(q) {
  query = q;
  filter.conversationId.value = q.conversationId ?? "";
  filter.msgId.value = q.msgId ?? "";
  filter.sender.value = q.sender ?? "";
  filter.afterSeq.value = q.afterSeq ?? "";
  await inFlight;
  await refresh();
}

// An action: asked first, done, said in its panel, and the page refreshed to show the result.
async function run(action) {
  if (!confirm(action.ask)) return;
  try {
    const { doc } = await call(session, action.path, action.body);
    notes[action.panel] = `${action.said(doc)} at ${when(Date.now())}.`;
  } catch (error) {
    if (error.auth) return signOut("The bridge refused this token.");
    notes[action.panel] = `Not done: ${error.message}.`;
  }
  await inFlight; // a round begun before the action would show the state from before it
  await refresh();
}

function showBoard(signedIn) {
  form.hidden = signedIn;
  $("board").hidden = $("session").hidden = $("token").hidden = !signedIn;
  $("app-name").textContent = signedIn ? session.app : "";
}

function signIn() {
  showBoard(true);
  $("updated").textContent = "Loading…";
  refresh();
}

function signOut(message = "") {
  forgetToken();
  session = loadSession();
  samples = [];
  status = okAt = null;
  notes = {};
  query = newestQuery();
  filter.reset();
  clearTimeout(timer);
  $("payload").close();
  for (const body of document.querySelectorAll("section > div")) body.replaceChildren();
  showBoard(false);
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
filter.onsubmit = (e) => {
  e.preventDefault();
  const f = Object.fromEntries(new FormData(filter));
  show(f.afterSeq === "" ? newestQuery(f) : fromQuery(f, Number(f.afterSeq)));
};
// The browser empties the fields after this event; show() empties them too, at once.
filter.onreset = () => session.token && show(newestQuery());
fate.onchange = async () => {
  await inFlight;
  refresh();
};
$("sign-out").onclick = () => signOut();
$("refresh").onclick = refresh;
document.onvisibilitychange = () => (document.hidden ? clearTimeout(timer) : refresh());

session.token ? signIn() : signOut();
