// Signing in. oidc: Authorization Code with PKCE at the identity provider, run here in the browser (a public
// client); only the PKCE verifier and state wait in sessionStorage during the redirect, never a token.
// dev: the demo users, each with a token the service mints (only in dev mode).
import { setToken } from "./api.js";

const PENDING = "toezicht-console-pkce";

export async function loadConfig() {
  const response = await fetch("/console/config.json", { credentials: "omit", cache: "no-store" });
  return response.json();
}

export async function demoUsers() {
  const response = await fetch("/console/dev/users", { credentials: "omit", cache: "no-store" });
  if (!response.ok) throw new Error("demo sign-in unavailable");
  return (await response.json()).items;
}

export async function signInAsDemoUser(subject) {
  const response = await fetch("/console/dev/token", {
    method: "POST", credentials: "omit", cache: "no-store",
    headers: { "Content-Type": "application/json" }, body: JSON.stringify({ subject }),
  });
  if (!response.ok) throw new Error("demo sign-in refused");
  setToken((await response.json()).access_token);
}

function base64url(bytes) {
  return btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function randomText() {
  return base64url(crypto.getRandomValues(new Uint8Array(32)));
}

function redirectUri() {
  return `${location.origin}/console/`;
}

export async function startOidcSignIn(config) {
  const verifier = randomText();
  const state = randomText();
  sessionStorage.setItem(PENDING, JSON.stringify({ verifier, state }));
  const challenge = base64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  const url = new URL(config.authorization_endpoint);
  url.search = new URLSearchParams({
    response_type: "code", client_id: config.client_id, redirect_uri: redirectUri(), scope: config.scope,
    state, code_challenge: challenge, code_challenge_method: "S256",
  }).toString();
  location.assign(url.toString());
}

// Back from the identity provider with ?code=&state=: exchange the code, then drop it from the address bar.
export async function finishOidcSignIn(config) {
  const parameters = new URLSearchParams(location.search);
  const code = parameters.get("code");
  if (!code) return false;
  const pending = JSON.parse(sessionStorage.getItem(PENDING) || "null");
  sessionStorage.removeItem(PENDING);
  history.replaceState(null, "", "/console/");
  if (!pending || pending.state !== parameters.get("state")) throw new Error("sign-in state mismatch");
  const response = await fetch(config.token_endpoint, {
    method: "POST", credentials: "omit", cache: "no-store",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "authorization_code", code, redirect_uri: redirectUri(),
                                client_id: config.client_id, code_verifier: pending.verifier }),
  });
  if (!response.ok) throw new Error("token exchange refused");
  setToken((await response.json()).access_token);
  return true;
}
