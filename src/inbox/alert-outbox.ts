// Alerts wait in a table and leave from the alarm, so a callback never waits on the alert sink;
// a failed send is retried with exponential backoff.
import { buildAlertRequest, sendAlert } from "../dingtalk/alert-sink";
import type { Clock } from "../lib/clock";
import type { AlertEffect } from "./mode-machine";

export interface PendingAlert {
  id: number;
  incident: string;
  phase: string;
  title: string;
  text: string;
  attempts: number;
  createdAt: number;
}

export const MAX_ALERT_ATTEMPTS = 12;

export function alertBackoffMs(attempts: number): number {
  return Math.min(5_000 * 2 ** Math.max(0, attempts - 1), 600_000);
}

export class AlertOutbox {
  constructor(private readonly sql: SqlStorage) {}

  add(alerts: readonly AlertEffect[]): void {
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
    }
  }

  due(now: number): PendingAlert[] {
    return this.sql
      .exec<{ id: number; incident: string; phase: string; title: string; text: string; attempts: number; created_at: number }>(
        "SELECT id, incident, phase, title, text, attempts, created_at FROM alerts WHERE sent_at IS NULL AND next_at <= ? ORDER BY id LIMIT 20",
        now,
      )
      .toArray()
      .map((r) => ({ ...r, createdAt: r.created_at }));
  }

  sent(id: number, now: number): void {
    this.sql.exec("UPDATE alerts SET sent_at = ?, attempts = attempts + 1, last_error = NULL WHERE id = ?", now, id);
  }

  failed(id: number, now: number, attempts: number, error: string): void {
    const giveUp = attempts >= MAX_ALERT_ATTEMPTS;
    this.sql.exec(
      "UPDATE alerts SET attempts = ?, next_at = ?, last_error = ?, sent_at = ? WHERE id = ?",
      attempts,
      now + alertBackoffMs(attempts),
      error.slice(0, 500),
      giveUp ? now : null,
      id,
    );
  }

  /** Sends what is due, one at a time; with no sink configured, alerts only go to status. */
  async flush(now: number, sink: { url: string; secret: string | undefined } | null, app: string, clock: Clock): Promise<void> {
    for (const alert of this.due(now)) {
      if (!sink) {
        this.sent(alert.id, now);
        continue;
      }
      const { incident, phase, title, text } = alert;
      const request = await buildAlertRequest(sink.url, sink.secret, { app, incident, phase, title, text, at: alert.createdAt }, now);
      const error = await sendAlert(request);
      if (error === null) this.sent(alert.id, clock.now());
      else this.failed(alert.id, clock.now(), alert.attempts + 1, error);
    }
  }

  nextDue(): number | null {
    return this.sql.exec<{ t: number | null }>("SELECT MIN(next_at) AS t FROM alerts WHERE sent_at IS NULL").one().t;
  }

  recent(limit: number) {
    return this.sql
      .exec<{ created_at: number; incident: string; phase: string; title: string; attempts: number; sent_at: number | null; last_error: string | null }>(
        "SELECT created_at, incident, phase, title, attempts, sent_at, last_error FROM alerts ORDER BY id DESC LIMIT ?",
        limit,
      )
      .toArray()
      .map((r) => ({
        at: r.created_at,
        incident: r.incident,
        phase: r.phase,
        title: r.title,
        attempts: r.attempts,
        sentAt: r.sent_at,
        lastError: r.last_error,
      }));
  }

  sweep(cutoff: number): void {
    this.sql.exec("DELETE FROM alerts WHERE created_at < ? AND sent_at IS NOT NULL", cutoff);
  }
}
