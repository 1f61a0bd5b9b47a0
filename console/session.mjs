// The app and its token, in this tab's sessionStorage only: no URL, cookie or localStorage.
const KEY = "dtbridge.console";

export function loadSession() {
  let s = {};
  try {
    s = JSON.parse(sessionStorage.getItem(KEY)) ?? {};
  } catch {}
  return { app: s.app ?? "default", token: s.token ?? null };
}

export const saveSession = (app, token) => sessionStorage.setItem(KEY, JSON.stringify({ app, token }));

export const forgetToken = () => saveSession(loadSession().app, null);
