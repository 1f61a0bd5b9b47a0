// What each incident means for the operator, and where in the console to look next.
export const INCIDENTS = {
  consumers_detached: "Messages are arriving and no gateway is draining: they wait in the inbox.",
  stuck_routing: "Stream reconnected repeatedly, then went silent: switch the robot to HTTP mode with the robot URL under Routing.",
  backlog_past_retention: "Undelivered messages are older than the retention: they are kept, but nothing is draining them.",
  storage_high: "The inbox's storage passed its alert level (Queue).",
  stream_link: "The bridge's own Stream link is held back: its reconnect budget is spent, or DingTalk refused it (Routing).",
  sign_reused: "A signature carried another message: such callbacks are kept aside as dead letters.",
  dead_letters_dropped: "One source sent more dead letters than their cap: the oldest were dropped.",
  config: "Some settings are malformed and fell back to their defaults (listed below).",
  backlog_stalled: "Gateways are attached, yet the oldest waiting message is not taken (BACKLOG_STALL_MS).",
  api_quota: "This month's DingTalk API calls passed 80% of DINGTALK_API_MONTHLY_QUOTA (Outbox).",
  ip_not_allowed: "DingTalk refused this server's IP: add it to the app's IP allowlist in DingTalk's console.",
  callbacks_rejected: "A run of callbacks was refused at the door: a rotated secret, a wrong URL, or probing (by code under Routing).",
};
