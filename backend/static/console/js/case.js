// One enforcement case, with what a jurist needs to act on it: the establishment or location, the violations with
// the inspection they come from and their photos, the proposal with its legal basis and amount, the steps with
// their letters, and the actions the procedure allows now (draft, approve, send, zienswijze, outcome, bezwaar).
// Photos and letters are fetched with the user's token and shown from blob: URLs (never a token in a URL).
import { api, describe } from "./api.js";
import { clearError, currentUser, render, showError } from "./app.js";
import { address, button, dateField, facts, field, formatDate, formValues, h, heading, paragraph, table, todayIso } from "./dom.js";
import { CASE_STATUSES, DEADLINES, DECISIONS, OUTCOMES, REGIMES, STEPS, STEP_STATUSES, WIJKEN, euros, word } from "./words.js";

const LETTERS = ["warning", "voornemen", "besluit", "invordering"];
const NEEDS_APPROVAL = ["besluit", "invordering"];

function casePath(found, rest = "") {
  return `/api/v1/enforcement/cases/${found.id}${rest}`;
}

function optional(request) {
  return request.catch(() => null);
}

async function target(found) {
  if (found.object_id) {
    const object = await optional(api(`/api/v1/objects/${found.object_id}`));
    return object ? { name: object.name, address: address(object) } : { name: null, address: null };
  }
  const location = found.location_id ? await optional(api(`/api/v1/locations/${found.location_id}`)) : null;
  return { name: null, address: location ? address(location) : null };
}

function section(id, title, ...content) {
  return h("section", { class: "console-section", "aria-labelledby": id }, heading(2, title, { id }), ...content);
}

// The command, with the case's version as If-Match; afterwards the case as it now is, or the refusal in words.
async function perform(found, path, body) {
  try {
    await api(casePath(found, path), { method: "POST", body, version: found.version });
    clearError();
    await caseScreen(found.id);
  } catch (error) {
    showError(describe(error));
  }
}

function smallForm(legend, fields, submitText, onSubmit) {
  const form = h("form", { class: "console-form console-action", novalidate: true },
    h("fieldset", { class: "utrecht-form-fieldset console-form" },
      h("legend", { class: "utrecht-form-fieldset__legend" }, legend), ...fields),
    h("div", {}, button(submitText, null, { type: "submit" })));
  form.addEventListener("submit", (event) => { event.preventDefault(); onSubmit(formValues(form)); });
  return form;
}

function cents(text) {
  const value = Number(String(text).replace(/\./g, "").replace(",", "."));
  return Number.isFinite(value) && text !== undefined ? Math.round(value * 100) : undefined;
}

// --- violations and their photos -------------------------------------------------------------------------------

function thumbnail(inspectionId, photoId, description) {
  const image = h("img", { class: "console-thumbnail", alt: description, width: 160 });
  api(`/api/v1/inspections/${inspectionId}/photos/${photoId}/thumbnail`, { accept: "image/jpeg" })
    .then((blob) => { image.src = URL.createObjectURL(blob); })
    .catch(() => image.replaceWith(h("span", {}, "Foto nog niet ontvangen")));
  return image;
}

// A violation as a jurist reads it: the checklist's Dutch description (the code beside it), and its article.
function violationText(violation) {
  return violation.description ? h("span", {}, violation.description, h("br"), h("small", {}, violation.code))
    : violation.code;
}

function violationRow(violation, inspections) {
  const inspection = inspections.get(violation.inspection_id);
  const found = inspection && inspection.violations.find((v) => v.id === violation.violation_id);
  const received = new Set(inspection ? inspection.photos.filter((p) => p.received).map((p) => p.id) : []);
  const photos = found ? found.evidence_photo_ids.filter((id) => received.has(id)) : [];
  return [
    violationText(violation), violation.article, formatDate(violation.observed_on),
    inspection ? `${formatDate(inspection.inspected_at)}, team ${inspection.team_id}` : "Niet zichtbaar",
    violation.fined ? "Ja" : "Nee",
    photos.length ? h("div", { class: "console-photos" },
      photos.map((id, index) => thumbnail(violation.inspection_id, id, `Foto ${index + 1} bij overtreding: ${violation.description || violation.code}`)))
      : "Geen",
  ];
}

async function violationsSection(found) {
  const ids = [...new Set(found.violations.map((v) => v.inspection_id))];
  const loaded = await Promise.all(ids.map((id) => optional(api(`/api/v1/inspections/${id}`))));
  const inspections = new Map(ids.map((id, index) => [id, loaded[index]]));
  return section("kop-overtredingen", "Overtredingen",
    found.violations.length
      ? table("Overtredingen in deze zaak, met de inspectie waarin ze zijn vastgesteld",
        ["Overtreding", "Artikel", "Vastgesteld", "Inspectie", "Beboet", "Foto's"],
        found.violations.map((v) => violationRow(v, inspections)))
      : paragraph("Geen overtredingen."));
}

// --- the proposal ---------------------------------------------------------------------------------------------------

function legalBasis(item) {
  if (!item.fine) return item.article;
  const fine = item.fine;
  return `${item.article}; ${fine.table_title}, categorie ${fine.category} (${fine.source})`;
}

function proposedStep(step, decision) {
  if (step === "none") return "Geen";
  return decision ? `${word(STEPS, step)}: ${word(DECISIONS, decision)}` : word(STEPS, step) || word(DECISIONS, step);
}

// The rules' proposal in Dutch: per violation code its legal basis, earlier occasions, step and amount.
function proposalSection(advice, violations) {
  if (!advice) return null;
  const described = new Map(violations.map((v) => [v.code, v]));
  const next = advice.next;
  return section("kop-voorstel", "Voorstel",
    facts([["Volgende stap", proposedStep(next.type, next.decision)], ["Bedrag", euros(next.amount_cents)]]),
    advice.items.length ? table("Voorstel per overtreding, met de wettelijke grondslag",
      ["Overtreding", "Grondslag", "Eerder in 12 maanden", "Voorgestelde stap", "Bedrag", "Recidive"],
      advice.items.map((item) => [violationText(described.get(item.code) || item), legalBasis(item), String(item.earlier_occasions), proposedStep(item.step),
                                  euros(item.fine && item.fine.amount_cents),
                                  item.fine && item.fine.recidive ? `Ja (+${item.fine.surcharge_percent}%)` : "Nee"])) : null);
}

// --- steps, their letters and actions ---------------------------------------------------------------------------

async function showLetter(found, step, place) {
  try {
    const pdf = await api(casePath(found, `/steps/${step.id}/document`), { accept: "application/pdf" });
    const url = URL.createObjectURL(pdf);
    place.replaceChildren(
      h("iframe", { class: "console-letter", src: url, title: `Brief bij stap ${step.seq}` }),
      paragraph(h("a", { class: "utrecht-link", href: url, download: `brief-stap-${step.seq}.pdf` }, "Brief downloaden (PDF)")));
  } catch (error) {
    showError(describe(error));
  }
}

function sendable(step) {
  return (NEEDS_APPROVAL.includes(step.type) ? step.status === "approved" : step.status === "draft") && LETTERS.includes(step.type);
}

function stepActions(found, step, approvable) {
  const actions = [];
  const stepPath = `/steps/${step.id}`;
  if (approvable.has(step.id)) {
    actions.push(button("Goedkeuren", () => perform(found, `${stepPath}/approve`), { primary: true }));
  }
  // A letter that changed after its approval (its addressee, its template) is approved again before it is sent;
  // sending says so. The approvals list offers drafts only, so a second officer finds it here.
  if (NEEDS_APPROVAL.includes(step.type) && step.status === "approved" && step.drafted_by !== currentUser().id) {
    actions.push(button("Opnieuw goedkeuren", () => perform(found, `${stepPath}/approve`)));
  }
  if (sendable(step)) {
    actions.push(smallForm(`Stap ${step.seq} verzenden`, [dateField("Verzenddatum", "sent_on", todayIso())],
      "Verzenden", (values) => perform(found, `${stepPath}/send`, values)));
  }
  const toPost = step.dispatch && (step.dispatch.by === "post" || step.dispatch.state === "failed");
  if (toPost && !step.dispatch.posted_on && !step.withdrawn_on) {
    actions.push(smallForm(`Brief van stap ${step.seq} gepost`, [dateField("Gepost op", "posted_on", todayIso())],
      "Gepost", (values) => perform(found, `${stepPath}/posted`, values)));
  }
  if (step.type === "voornemen" && step.zienswijze === "pending") {
    actions.push(smallForm("Zienswijze vastleggen", [
      field("Zienswijze ontvangen", "select", { name: "received" }, [["true", "Ja"], ["false", "Nee, niet binnen de termijn"]]),
      field("Samenvatting van de zienswijze", "textarea", { name: "summary", rows: 3 })],
    "Zienswijze vastleggen", (values) => perform(found, `${stepPath}/zienswijze`, { ...values, received: values.received === "true" })));
  }
  if (step.type === "hercontrole" && step.status === "planned") {
    actions.push(smallForm("Uitkomst hercontrole", [
      field("Uitkomst", "select", { name: "result" }, [["complied", "Nageleefd"], ["forfeited", "Verbeurd"]]),
      dateField("Datum hercontrole", "observed_on", todayIso())],
    "Uitkomst vastleggen", (values) => perform(found, `${stepPath}/outcome`, values)));
  }
  if (step.type === "bezwaar" && step.status === "registered") {
    actions.push(smallForm("Beslissing op bezwaar", [
      field("Uitkomst", "select", { name: "result" }, [["ongegrond", "Ongegrond"], ["gegrond", "Gegrond"], ["niet_ontvankelijk", "Niet-ontvankelijk"]])],
    "Beslissing vastleggen", (values) => perform(found, `${stepPath}/outcome`, values)));
  }
  if (found.next_steps.some((next) => next.type === "invordering" && next.related_step_id === step.id)) {
    actions.push(smallForm("Invordering opstellen", [
      field("Bedrag in euro (ten hoogste het verbeurde bedrag)", "input", { name: "amount", inputmode: "decimal",
        value: String(step.forfeited_cents / 100).replace(".", ",") })],
    "Invordering opstellen", (values) => perform(found, "/steps",
      { type: "invordering", related_step_id: step.id, ...(values.amount ? { amount_cents: cents(values.amount) } : {}) })));
  }
  if (found.next_steps.some((next) => next.type === "bezwaar" && next.related_step_id === step.id)) {
    actions.push(smallForm("Bezwaar registreren", [
      dateField("Ontvangen op", "received_on", todayIso()),
      dateField("Op de post gedaan op (alleen per post)", "posted_on")],
    "Bezwaar registreren", (values) => perform(found, "/steps", { type: "bezwaar", related_step_id: step.id, ...values })));
  }
  return actions;
}

function stepFacts(step) {
  const terms = step.deadlines.map((d) => `${word(DEADLINES, d.kind)} ${formatDate(d.due_on)}${d.resolved ? " (afgerond)" : ""}`);
  return facts([
    ["Status", word(STEP_STATUSES, step.status)], ["Bedrag", euros(step.amount_cents)],
    ["Motivering", step.document_text], ["Reden van afwijking", step.deviation_reason],
    ["Opgesteld", formatDate(step.created_at)], ["Goedgekeurd", formatDate(step.approved_at)],
    ["Verzonden op", formatDate(step.sent_on)], ["Verzending", dispatchText(step.dispatch)],
    ["Zienswijze", step.zienswijze === "pending" ? "Termijn loopt" : step.zienswijze === "received" ? `Ontvangen${step.zienswijze_summary ? `: ${step.zienswijze_summary}` : ""}` : step.zienswijze === "not_received" ? "Niet ontvangen" : null],
    ["Uitkomst", word(OUTCOMES, step.outcome || (["complied", "forfeited"].includes(step.status) ? step.status : null))],
    ["Termijnen", terms.join("; ")], ["Ingetrokken op", formatDate(step.withdrawn_on)],
  ]);
}

// How a sent letter went out, in the words the back office acts on: a letter for post (or whose e-mail failed) is
// printed and posted by hand.
function dispatchText(dispatch) {
  if (!dispatch) return null;
  if (dispatch.by === "post") {
    return dispatch.posted_on ? `Per post, gepost op ${formatDate(dispatch.posted_on)}`
      : "Per post: niet gemaild (geen e-mailadres bekend, geen mailserver, of verzonden op een eerdere dag); nog te posten";
  }
  switch (dispatch.state) {
    case "sent": return `Per e-mail verzonden op ${formatDate(dispatch.sent_at)}`;
    case "failed": return dispatch.posted_on ? `E-mail mislukt; per post gepost op ${formatDate(dispatch.posted_on)}`
      : "E-mail mislukt: per post versturen";
    case "cancelled": return dispatch.posted_on ? `E-mail geannuleerd; per post gepost op ${formatDate(dispatch.posted_on)}`
      : "Niet gemaild: het besluit is ingetrokken voordat de e-mail ging";
    default: return `Per e-mail: wordt verzonden${dispatch.attempts ? ` (poging ${dispatch.attempts})` : ""}`;
  }
}

function stepArticle(found, step, approvable, officer) {
  const title = `Stap ${step.seq}: ${word(STEPS, step.type)}${step.decision ? ` – ${word(DECISIONS, step.decision)}` : ""}`;
  const letterPlace = h("div", { class: "console-letter-place" });
  const letter = LETTERS.includes(step.type)
    ? button(step.sent_on ? "Brief bekijken" : "Conceptbrief bekijken", () => showLetter(found, step, letterPlace)) : null;
  return h("article", { class: "console-step", "aria-labelledby": `stap-${step.seq}` },
    heading(3, title, { id: `stap-${step.seq}` }), stepFacts(step),
    h("div", { class: "console-pager" }, letter), letterPlace,
    officer && found.status !== "closed" ? h("div", { class: "console-actions" }, stepActions(found, step, approvable)) : null);
}

// --- drafting a step ------------------------------------------------------------------------------------------------

// The kinds of step the form drafts; the service says which of them, with which decision, the case allows now.
const DRAFTED = { warning: "Waarschuwing", voornemen: "Voornemen", besluit: "Besluit" };

function draftForm(found, advice) {
  const allowed = found.next_steps.filter((next) => Object.hasOwn(DRAFTED, next.type));
  if (!allowed.length) {
    return paragraph("Er kan nu geen waarschuwing, voornemen of besluit worden opgesteld: de overtredingen zijn "
      + "afgehandeld, of een besluit wacht op het verzonden voornemen en de zienswijze.");
  }
  const proposed = advice && advice.next.type !== "none" ? advice.next : { type: null, decision: null, amount_cents: null };
  const types = [...new Set(allowed.map((next) => next.type))];
  const decisionsOf = (type) => allowed.filter((next) => next.type === type && next.decision).map((next) => next.decision);
  const typeField = field("Soort stap", "select", { name: "type" }, types.map((type) => [type, DRAFTED[type]]));
  const decisionField = field("Besluit", "select", { name: "decision" });
  const typeSelect = typeField.querySelector("select");
  const decisionSelect = decisionField.querySelector("select");
  const offerDecisions = () => {
    const decisions = decisionsOf(typeSelect.value);
    decisionSelect.replaceChildren(...decisions.map((decision) => h("option", { value: decision }, word(DECISIONS, decision))));
    if (decisions.includes(proposed.decision)) decisionSelect.value = proposed.decision;
    decisionField.hidden = !decisions.length;
  };
  if (types.includes(proposed.type)) typeSelect.value = proposed.type;
  typeSelect.addEventListener("change", offerDecisions);
  offerDecisions();
  const form = h("form", { class: "console-form", novalidate: true },
    paragraph("Het formulier is ingevuld volgens het voorstel. Wijkt u af, geef dan de reden."),
    typeField, decisionField,
    field("Bedrag in euro (bij een boete)", "input", { name: "amount", inputmode: "decimal",
      value: proposed.amount_cents ? String(proposed.amount_cents / 100).replace(".", ",") : "" }),
    field("Motivering", "textarea", { name: "document_text", rows: 4 }),
    field("Reden van afwijking van het voorstel (optioneel)", "textarea", { name: "deviation_reason", rows: 2 }),
    h("div", {}, button("Concept opstellen", null, { primary: true, type: "submit" })));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const values = formValues(form);
    const body = { type: values.type };
    if (values.decision) body.decision = values.decision;
    if (body.decision === "boete" && values.amount) body.amount_cents = cents(values.amount);
    if (values.document_text) body.document_text = values.document_text;
    if (values.deviation_reason) body.deviation_reason = values.deviation_reason;
    perform(found, "/steps", body);
  });
  return form;
}

// --- the screen -----------------------------------------------------------------------------------------------------

export async function caseScreen(id) {
  const found = await api(`/api/v1/enforcement/cases/${id}`);
  const officer = currentUser().roles.includes("enforcement_officer");
  const [place, advice, waiting, violations] = await Promise.all([
    target(found),
    found.status === "closed" ? null : optional(api(casePath(found, "/proposal"))),
    officer ? api(`/api/v1/enforcement/approvals?case_id=${found.id}`) : { items: [] },
    violationsSection(found),
  ]);
  const approvable = new Set(waiting.items.map((item) => item.step_id));
  render(`Zaak ${word(REGIMES, found.regime)}: ${place.name || place.address || "adres niet zichtbaar"}`,
    facts([["Kenmerk", found.kenmerk], ["Object", place.name], ["Adres", place.address], ["Wijk", word(WIJKEN, found.wijk)],
           ["Regime", word(REGIMES, found.regime)], ["Status", word(CASE_STATUSES, found.status)],
           ["Geopend", formatDate(found.opened_at)], ["Gesloten", formatDate(found.closed_at)], ["Resultaat", found.result]]),
    violations,
    proposalSection(advice, found.violations),
    section("kop-stappen", "Stappen",
      found.steps.length ? found.steps.map((step) => stepArticle(found, step, approvable, officer)) : paragraph("Nog geen stappen.")),
    officer && found.status !== "closed" ? section("kop-nieuwe-stap", "Nieuwe stap", draftForm(found, advice)) : null);
}
