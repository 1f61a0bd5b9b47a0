// What retention cannot do by itself: it never deletes an undelivered event, so a backlog older than
// retention is an incident for a person; and the object's storage is finite, so its growth is too.

import { type AlertEffect, type OpenIncidents, openIncident, resolveIncident } from "../alerts/incidents";
import { STORAGE_LIMIT_BYTES } from "../config/tunables";

export interface StorageFacts {
  now: number;
  /** When the oldest ready, leased or dead event arrived. */
  oldestUndeliveredAt: number | null;
  undelivered: number;
  storageBytes: number;
}

export function retentionAlerts(
  open: OpenIncidents,
  f: StorageFacts,
  t: { retentionMs: number; storageAlertBytes: number },
): AlertEffect[] {
  const days = (t.retentionMs / 86_400_000).toFixed(t.retentionMs % 86_400_000 ? 2 : 0);
  const backlogOld = f.oldestUndeliveredAt !== null && f.now - f.oldestUndeliveredAt > t.retentionMs;
  const backlog = backlogOld
    ? openIncident(open, "backlog_past_retention", f.now, {
        title: "Undelivered DingTalk messages are older than the retention period",
        text:
          `${f.undelivered} events are not delivered yet (ready, leased or dead letters), the oldest from ` +
          `${new Date(f.oldestUndeliveredAt!).toISOString()}, more than ${days} days ago (RETENTION_DAYS). The bridge keeps ` +
          "them until a gateway acks them; drain the inbox, or redrive or purge the dead letters.",
      })
    : resolveIncident(open, "backlog_past_retention", f.now, {
        title: "No undelivered message is older than the retention period",
        text: "The backlog older than RETENTION_DAYS has been delivered or purged.",
      });
  const mb = (bytes: number) => `${Math.round(bytes / 1024 ** 2)} MiB`;
  const storage =
    f.storageBytes >= t.storageAlertBytes
      ? openIncident(open, "storage_high", f.now, {
          title: "The app's inbox storage is filling up",
          text:
            `The inbox holds ${mb(f.storageBytes)} of the Durable Object's ${mb(STORAGE_LIMIT_BYTES)} limit ` +
            `(alert at ${mb(t.storageAlertBytes)}, STORAGE_ALERT_BYTES). Drain the backlog, purge dead letters, or lower RETENTION_DAYS.`,
        })
      : resolveIncident(open, "storage_high", f.now, {
          title: "The app's inbox storage is below its alert level again",
          text: `The inbox holds ${mb(f.storageBytes)}.`,
        });
  return [...backlog, ...storage];
}
