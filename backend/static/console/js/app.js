// The console: sign-in, the menu for the user's roles, and hash routes (#/klachten, #/klachten/<id>, ...).
// Hashes that are not routes (the skip link's #inhoud) leave the screen as it is.
import { api, describe, signedIn, setToken } from "./api.js";
import { demoUsers, finishOidcSignIn, loadConfig, signInAsDemoUser, startOidcSignIn } from "./auth.js";
import { button, h, heading, link, paragraph } from "./dom.js";
import { complaintScreen, complaintsScreen, newComplaintScreen } from "./complaints.js";
import { auditScreen } from "./audit.js";
import { caseScreen } from "./case.js";
import { enforcementScreen } from "./enforcement.js";
import { indicatorsScreen } from "./indicators.js";
import { inspectionScreen, reviewListScreen } from "./review.js";

const REPORT_READERS = ["coordinator", "admin", "auditor", "enforcement_officer"];
const main = () => document.getElementById("inhoud");
let me = null;

const SCREENS = [
  { pattern: /^#\/klachten\/nieuw$/, roles: ["complaints_officer", "admin"], show: newComplaintScreen },
  { pattern: /^#\/klachten\/([0-9a-f-]{36})$/, roles: ["complaints_officer", "admin"], show: complaintScreen },
  { pattern: /^#\/klachten$/, roles: ["complaints_officer", "admin"], show: complaintsScreen },
  { pattern: /^#\/audit$/, roles: ["auditor", "admin"], show: auditScreen },
  { pattern: /^#\/handhaving$/, roles: ["enforcement_officer", "admin"], show: enforcementScreen },
  { pattern: /^#\/zaken\/([0-9a-f-]{36})$/, roles: ["enforcement_officer", "admin"], show: caseScreen },
  { pattern: /^#\/beoordelen$/, roles: ["coordinator"], show: reviewListScreen },
  { pattern: /^#\/inspecties\/([0-9a-f-]{36})$/, roles: ["coordinator"], show: inspectionScreen },
  { pattern: /^#\/indicatoren$/, roles: REPORT_READERS, show: indicatorsScreen },
];
const MENU = [
  ["#/klachten", "Klachten", ["complaints_officer", "admin"]],
  ["#/klachten/nieuw", "Nieuwe klacht", ["complaints_officer", "admin"]],
  ["#/handhaving", "Handhaving", ["enforcement_officer", "admin"]],
  ["#/beoordelen", "Te beoordelen", ["coordinator"]],
  ["#/indicatoren", "Indicatoren", REPORT_READERS],
  ["#/audit", "Audit", ["auditor", "admin"]],
];

export function showError(message) {
  const region = document.getElementById("meldingen");
  region.replaceChildren(h("p", { class: "utrecht-paragraph" }, message));
}

export function clearError() {
  document.getElementById("meldingen").replaceChildren();
}

let pageLoaded = false;

// A new screen: its content, the page title, and focus on the main heading for screen readers and keyboards
// (not on the page's first screen: there the skip link is the first stop, as on any page).
export function render(title, ...content) {
  document.title = `${title} – Toezicht BW`;
  const target = main();
  target.replaceChildren(heading(1, title, { tabindex: "-1", id: "paginakop" }), ...content.filter(Boolean));
  if (pageLoaded) document.getElementById("paginakop").focus();
  pageLoaded = true;
}

export function navigate(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

// The signed-in user as /api/v1/me describes them (id, roles, regimes).
export function currentUser() { return me; }

function allowed(roles) {
  return me && me.roles.some((role) => roles.includes(role));
}

function renderMenu() {
  const current = location.hash;
  const items = MENU.filter(([, , roles]) => allowed(roles)).map(([href, text]) =>
    h("li", {}, link(href, text, { "aria-current": current === href ? "page" : null })));
  document.getElementById("menu").replaceChildren(h("ul", {}, items));
  document.getElementById("gebruiker").replaceChildren(h("div", { class: "console-user" },
    h("span", {}, `Aangemeld als ${me.display_name || me.subject}`),
    button("Afmelden", () => { setToken(null); me = null; location.hash = ""; start(); })));
}

async function route() {
  if (!signedIn()) return;
  const hash = location.hash;
  if (hash && !hash.startsWith("#/")) return;
  clearError();
  renderMenu();
  const screen = SCREENS.find((candidate) => candidate.pattern.test(hash) && allowed(candidate.roles));
  if (!screen) {
    const first = MENU.find(([, , roles]) => allowed(roles));
    if (first && hash !== first[0]) { navigate(first[0]); return; }
    render("Welkom", paragraph("Voor uw rol zijn er nog geen schermen in de console."));
    return;
  }
  try {
    await screen.show(...hash.match(screen.pattern).slice(1));
  } catch (error) {
    showError(describe(error));
  }
}

async function signedInAs() {
  me = await api("/api/v1/me");
  await route();
}

async function signInScreen(config) {
  document.getElementById("menu").replaceChildren();
  document.getElementById("gebruiker").replaceChildren();
  if (config.auth_mode === "oidc") {
    render("Aanmelden", paragraph("Meld u aan met uw account van de gemeente."),
      button("Aanmelden", () => startOidcSignIn(config), { primary: true }));
    return;
  }
  const users = await demoUsers();
  render("Aanmelden (demo)",
    paragraph("Deze service draait in ontwikkelmodus. Kies een demogebruiker; in productie meldt u zich aan bij de gemeente."),
    h("ul", { class: "console-users" }, users.map((user) => h("li", {},
      button(`${user.name} – ${user.roles.join(", ")}`, async () => {
        try {
          await signInAsDemoUser(user.subject);
          await signedInAs();
        } catch (error) {
          showError(describe(error));
        }
      }, { "data-subject": user.subject })))));
}

async function start() {
  try {
    const config = await loadConfig();
    if (config.auth_mode === "oidc" && await finishOidcSignIn(config)) {
      await signedInAs();
      return;
    }
    await signInScreen(config);
  } catch (error) {
    showError(describe(error));
  }
}

window.addEventListener("hashchange", route);
start();
