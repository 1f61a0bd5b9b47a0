// Structured logs: one JSON object per line, for Workers Logs and `wrangler tail`. Callers pass
// facts, never secrets (tokens, client secrets, signed URLs).

export type LogLevel = "debug" | "info" | "warn" | "error";

export function log(level: LogLevel, event: string, fields: Record<string, unknown> = {}): void {
  const line = JSON.stringify({ level, event, ...fields });
  if (level === "error") console.error(line);
  else if (level === "warn") console.warn(line);
  else console.log(line);
}
