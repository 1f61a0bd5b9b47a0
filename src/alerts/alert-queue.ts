// Alerts wait in a table and leave from the alarm, so a callback never waits on the alert sink;
// a failed send is retried with exponential backoff.
import { buildAlertRequest, sendAlert } from "../dingtalk/alert-sink";
import { retryBackoffMs } from "../lib/backoff";
import type { Clock } from "../lib/clock";
import { log } from "../lib/log";
import type { AlertEffect } from "./incidents";

export interface PendingAlert {
  id: number;
  incident: string;
  phase: string;
  title: string;
  text: string;
  attempts: number;
  createdAt: number;
}

/** What became of an alert: still to send, sent, given up after MAX_ALERT_ATTEMPTS, or nowhere to send it. */
export type AlertOutcome = "pending" | "sent" | "gave_up" | "no_sink";

export const MAX_ALERT_ATTEMPTS = 12;

export class AlertQueue {
  constructor(private readonly sql: SqlStorage) {}

  add(app: string | null, alerts: readonly AlertEffect[]): void {
    for (const a of alerts) {
      this.sql.exec(
        "INSERT INTO alerts (created_at, incident, phase, title, text, next_at) VALUES (?, ?, ?, ?, ?, ?)",
        a.at,
        a.incident,
        a.phase,
        a.title,
        a.text,
        a.at,
      );
      log(a.phase === "open" ? "warn" : "info", "alert_raised", { app, incident: a.incident, phase: a.phase, title: a.title });
    }
  }

  due(now: number): PendingAlert[] {
    return this.sql
      .exec<{ id: number; incident: string; phase: string; title: string; text: string; attempts: number; created_at: number }>(
        "SELECT id, incident, phase, title, text, attempts, created_at FROM alerts WHERE outcome IS NULL AND next_at <= ? ORDER BY id LIMIT 20",
        now,
      )
      .toArray()
      .map((r) => ({ ...r, createdAt: r.created_at }));
  }

  private finish(id: number, outcome: AlertOutcome, now: number, attempts: number, error: string | null): void {
    this.sql.exec(
      "UPDATE alerts SET outcome = ?, sent_at = ?, attempts = ?, last_error = ? WHERE id = ?",
      outcome,
      outcome === "sent" ? now : null,
      attempts,
      error,
      id,
    );
  }

  private failed(alert: PendingAlert, now: number, error: string): void {
    const attempts = alert.attempts + 1;
    if (attempts >= MAX_ALERT_ATTEMPTS) {
      this.finish(alert.id, "gave_up", now, attempts, error.slice(0, 500));
      return;
    }
    this.sql.exec(
      "UPDATE alerts SET attempts = ?, next_at = ?, last_error = ? WHERE id = ?",
      attempts,
      now + retryBackoffMs(attempts),
      error.slice(0, 500),
      alert.id,
    );
  }

  /** Sends what is due, one at a time. With no sink configured, each alert says so and is logged. */
  async flush(now: number, sink: { url: string; secret: string | undefined } | null, app: string, clock: Clock): Promise<void> {
    for (const alert of this.due(now)) {
      if (!sink) {
        this.finish(alert.id, "no_sink", now, alert.attempts, "no alert sink configured (ALERT_WEBHOOK_URL)");
        log("warn", "alert_not_sent", {
          app,
          incident: alert.incident,
          phase: alert.phase,
          reason: "no_sink",
          title: alert.title,
          text: alert.text,
        });
        continue;
      }
      const { incident, phase, title, text } = alert;
      const request = await buildAlertRequest(sink.url, sink.secret, { app, incident, phase, title, text, at: alert.createdAt }, now);
      const error = await sendAlert(request);
      if (error === null) {
        this.finish(alert.id, "sent", clock.now(), alert.attempts + 1, null);
        log("info", "alert_sent", { app, incident, phase });
      } else {
        this.failed(alert, clock.now(), error);
        log("warn", "alert_failed", { app, incident, phase, attempts: alert.attempts + 1, error });
      }
    }
  }

  /** For `dtbridge doctor`: one test message to the sink, sent now; answers what became of it. */
  async sendTest(
    now: number,
    sink: { url: string; secret: string | undefined } | null,
    app: string,
  ): Promise<{ ok: boolean; detail: string }> {
    if (!sink) return { ok: false, detail: "no alert sink is configured (ALERT_WEBHOOK_URL): alerts are only logged" };
    const request = await buildAlertRequest(
      sink.url,
      sink.secret,
      {
        app,
        incident: "test",
        phase: "open",
        title: "A test alert from dtbridge doctor",
        text: "The bridge can reach its alert sink.",
        at: now,
      },
      now,
    );
    const error = await sendAlert(request);
    return error === null ? { ok: true, detail: "the alert sink took a test alert" } : { ok: false, detail: error };
  }

  nextDue(): number | null {
    return this.sql.exec<{ t: number | null }>("SELECT MIN(next_at) AS t FROM alerts WHERE outcome IS NULL").one().t;
  }

  recent(limit: number) {
    return this.sql
      .exec<{
        created_at: number;
        incident: string;
        phase: string;
        title: string;
        attempts: number;
        sent_at: number | null;
        last_error: string | null;
        outcome: AlertOutcome | null;
      }>("SELECT created_at, incident, phase, title, attempts, sent_at, last_error, outcome FROM alerts ORDER BY id DESC LIMIT ?", limit)
      .toArray()
      .map((r) => ({
        at: r.created_at,
        incident: r.incident,
        phase: r.phase,
        title: r.title,
        delivery: r.outcome ?? "pending",
        attempts: r.attempts,
        sentAt: r.sent_at,
        lastError: r.last_error,
      }));
  }

  sweep(cutoff: number): void {
    this.sql.exec("DELETE FROM alerts WHERE created_at < ? AND outcome IS NOT NULL", cutoff);
  }
}
