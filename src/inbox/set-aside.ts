// Dead letters nobody nacked: messages kept aside because their signature had already carried
// another message, and link frames that were not robot messages. Each source is capped apart (a
// flood of one cannot fill the object), its drops counted, and an operator told once per incident.
import { type AlertEffect, openIncident, resolveIncident } from "../alerts/incidents";
import { log } from "../lib/log";
import type { DeadSource } from "./event-store";
import type { Turn } from "./turn";

/** Dead letters kept per source; beyond this the oldest of that source go first. */
export const MAX_DEAD_LETTERS_PER_SOURCE = 10_000;

/** A dead letter of `source` was just stored: cap its source, and say what happened. */
export function keptAside(t: Turn, source: DeadSource, msgId: string | null): void {
  const c = t.state.counters;
  if (source === "sign_reused") {
    c.signReused += 1;
    log("warn", "sign_reused", { app: t.state.app, msgId, action: "kept as a dead letter" });
    t.raise(
      openIncident(t.state.incidents, "sign_reused", t.now, {
        title: "A signed callback was kept aside: its signature had already carried another message",
        text:
          "DingTalk's robot sign covers only the timestamp, so a captured timestamp and sign can carry a forged message. A callback " +
          "reused a pair more than 2 s after its first message, so the bridge kept it as a dead letter (reason sign_reused) instead " +
          "of handing it to the agent. Read it with `dtbridge dead-letters`: redrive it if it is genuine, purge it if not. If more " +
          "keep coming, rotate the app's Client Secret.",
      }),
    );
  }
  const dropped = t.parts.events.capDeadLetters(source, MAX_DEAD_LETTERS_PER_SOURCE);
  if (dropped === 0) return;
  c.deadLettersDropped += dropped;
  log("warn", "dead_letters_dropped", { app: t.state.app, source, dropped });
  t.raise(
    openIncident(t.state.incidents, "dead_letters_dropped", t.now, {
      title: `Dead letters were dropped: more than ${MAX_DEAD_LETTERS_PER_SOURCE} came from one source`,
      text:
        `The inbox keeps at most ${MAX_DEAD_LETTERS_PER_SOURCE} dead letters of each source (${source} here) and dropped the oldest. ` +
        "Read and purge them (`dtbridge dead-letters`), and find what produces them; status counts the drops (deadLettersDropped).",
    }),
  );
}

/** Incidents about set-aside dead letters end once an operator has read and cleared them. */
export function setAsideResolved(t: Turn): void {
  const open = t.state.incidents;
  if (open.sign_reused === undefined && open.dead_letters_dropped === undefined) return;
  const events = t.parts.events;
  const signReused = events.deadLettersFrom("sign_reused");
  const alerts: AlertEffect[] = [];
  if (signReused === 0) {
    alerts.push(
      ...resolveIncident(t.state.incidents, "sign_reused", t.now, {
        title: "No callback kept aside for a reused signature remains",
        text: "The dead letters with reason sign_reused were redriven or purged.",
      }),
    );
  }
  if (signReused < MAX_DEAD_LETTERS_PER_SOURCE && events.deadLettersFrom("link_frame") < MAX_DEAD_LETTERS_PER_SOURCE) {
    alerts.push(
      ...resolveIncident(t.state.incidents, "dead_letters_dropped", t.now, {
        title: "Dead letters are below their cap again",
        text: "No source of dead letters is at its cap any more.",
      }),
    );
  }
  t.raise(alerts);
}
