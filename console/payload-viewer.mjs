// One event in a modal <dialog>, which stays open while the page refreshes behind it: its
// metadata, and its payload as the exact JSON that was sent, re-indented.
import { badge, fields } from "./dom.mjs";
import { when } from "./format.mjs";
import { prettyJson } from "./json-text.mjs";

const dialog = document.getElementById("payload");
dialog.querySelector("[data-close]").onclick = () => dialog.close();
dialog.onclick = (e) => e.target === dialog && dialog.close(); // the backdrop

export function showPayload(e, raw) {
  dialog.querySelector("h2").textContent = `Payload of event #${e.seq}`;
  dialog.querySelector("dl").replaceWith(
    fields([
      ["id", e.id],
      ["kind", `${e.kind} via ${e.source}`],
      ["state", badge(e.state)],
      ["attempts", String(e.attempt)],
      ["received", when(e.receivedAt)],
      ["dedup key", e.dedupKey],
      ["ordering key", e.orderingKey ?? "none: handed out without order"],
      ["replay of", e.replayOf],
      ["last reason", e.lastReason],
    ]),
  );
  dialog.querySelector("pre").textContent = prettyJson(raw);
  if (!dialog.open) dialog.showModal();
}
