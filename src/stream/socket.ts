// One WebSocket to DingTalk's Stream gateway, as the link holds it: opened with fetch (Workers open
// outbound WebSockets that way), written to without ever throwing.

/**
 * Opens the WebSocket. No abort signal goes with the fetch: aborting it later would close the socket
 * it became. A slow upgrade is given up after `timeoutMs`, and closed if it arrives after all.
 */
export async function upgrade(url: string, timeoutMs: number): Promise<WebSocket | string> {
  let timedOut = false;
  let timer: ReturnType<typeof setTimeout> | null = null;
  const attempt = fetch(url, { headers: { upgrade: "websocket" }, redirect: "manual" }).then((res) => {
    if (!res.webSocket) return `the Stream endpoint answered ${res.status} instead of a WebSocket`;
    if (timedOut) {
      res.webSocket.accept();
      res.webSocket.close(1000, "too late");
    }
    return res.webSocket;
  });
  const timeout = new Promise<string>((resolve) => {
    timer = setTimeout(() => {
      timedOut = true;
      resolve(`the Stream endpoint did not answer within ${timeoutMs / 1000} s`);
    }, timeoutMs);
  });
  // The timer goes whichever way the fetch ends: a rejected upgrade must not leave it behind.
  const settled = attempt.finally(() => {
    if (timer !== null) clearTimeout(timer);
  });
  return Promise.race([settled, timeout]);
}

export function send(ws: WebSocket, text: string): void {
  try {
    ws.send(text);
  } catch {
    // The socket is gone; DingTalk delivers the message again, and the inbox dedups it.
  }
}
