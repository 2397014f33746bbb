// The complaint handler's screens: the worklist (new, due soon, overdue in working days), one complaint with the
// reporter's contact details, its allowed transitions and the answer, and the intake of a new complaint.
import { api, describe, query } from "./api.js";
import { navigate, render, showError } from "./app.js";
import { address, button, facts, field, formatDate, formValues, h, heading, link, paragraph } from "./dom.js";
import { pagedTable } from "./pages.js";
import { WIJKEN, mailError, word } from "./words.js";

export const STATES = {
  received: "Ontvangen", in_progress: "In behandeling", inspection_planned: "Controle gepland",
  resolved: "Afgehandeld", reopened: "Heropend", rejected: "Doorgestuurd",
};
const OUTCOMES = [
  ["violation_found", "Overtreding vastgesteld"], ["no_violation_found", "Geen overtreding vastgesteld"],
  ["nuisance_stopped", "Overlast gestopt"], ["not_established", "Niet vast te stellen"], ["other", "Anders"],
];
const OUTCOME_NAMES = Object.fromEntries(OUTCOMES);
const CHANNELS = [["phone", "Telefoon"], ["email", "E-mail"], ["counter", "Balie"], ["web_form", "Webformulier"]];
const HEADERS = ["Klacht", "Adres", "Wijk", "Status", "Ontvangen", "Uiterlijk afgehandeld"];

// A worklist row in the handler's words: the category's name and the wijk's, not their keys.
function rowNaming(categoryNames) {
  return (complaint) => [
    link(`#/klachten/${complaint.id}`, `${word(categoryNames, complaint.category)}: ${complaint.description.slice(0, 60)}`),
    address(complaint.location), word(WIJKEN, complaint.location.wijk), STATES[complaint.state] || complaint.state,
    formatDate(complaint.received_at),
    `${formatDate(complaint.resolution_due_on)}${complaint.overdue ? " (te laat)" : ""}`,
  ];
}

function inDays(days) {
  const day = new Date(Date.now() + days * 86_400_000);
  return day.toISOString().slice(0, 10);
}

// The complaints whose reporter did not hear from us: an e-mail that failed for good, or an answer for a reporter
// who left no e-mail address.
const UNINFORMED_BECAUSE = { email_failed: "E-mail mislukt", no_email_address: "Geen e-mailadres" };
const UNINFORMED_HEADERS = [...HEADERS.slice(0, 5), "Te informeren sinds", "Waarom"];

export async function complaintsScreen() {
  const categories = await api("/api/v1/complaints/categories");
  const row = rowNaming(Object.fromEntries(categories.items.map((category) => [category.key, category.name])));
  const uninformedRow = (complaint) => [...row(complaint).slice(0, 5), formatDate(complaint.to_inform_since),
    UNINFORMED_BECAUSE[complaint.to_inform_because] || complaint.to_inform_because];
  render("Klachten",
    h("section", { class: "console-section", "aria-labelledby": "kop-melder-informeren" },
      heading(2, "Melder niet bereikt", { id: "kop-melder-informeren" }),
      paragraph("Een e-mail aan de melder is mislukt, of de melder wil een reactie maar gaf geen e-mailadres: informeer de melder op een andere manier en leg dat vast op de klacht."),
      pagedTable("Klachten waarvan de melder nog niets van ons hoorde", UNINFORMED_HEADERS,
        "/api/v1/complaints/reporters-to-inform", uninformedRow)),
    h("section", { class: "console-section", "aria-labelledby": "kop-te-laat" }, heading(2, "Te laat", { id: "kop-te-laat" }),
      pagedTable("Klachten over de afhandeltermijn", HEADERS, `/api/v1/complaints/deadlines${query({ overdue: true })}`, row)),
    h("section", { class: "console-section", "aria-labelledby": "kop-binnenkort" }, heading(2, "Binnenkort te laat", { id: "kop-binnenkort" }),
      pagedTable("Klachten die binnen 7 dagen af moeten", HEADERS,
        `/api/v1/complaints/deadlines${query({ overdue: false, due_by: inDays(7) })}`, row)),
    h("section", { class: "console-section", "aria-labelledby": "kop-nieuw" }, heading(2, "Nieuw", { id: "kop-nieuw" }),
      pagedTable("Nieuwe klachten", HEADERS, `/api/v1/complaints${query({ state: "received" })}`, row)));
}

export async function complaintScreen(id) {
  const [complaint, categories] = await Promise.all([api(`/api/v1/complaints/${id}`), api("/api/v1/complaints/categories")]);
  const category = categories.items.find((item) => item.key === complaint.category);
  const reporter = complaint.reporter;
  render(`Klacht: ${category ? category.name : complaint.category}`,
    facts([
      ["Status", STATES[complaint.state] || complaint.state], ["Omschrijving", complaint.description],
      ["Adres", address(complaint.location)], ["Wijk", word(WIJKEN, complaint.location.wijk)],
      ["Ontvangen", formatDate(complaint.received_at)], ["Uiterlijk afgehandeld", formatDate(complaint.resolution_due_on)],
      ["Termijn", complaint.overdue ? "Te laat" : "Op tijd"], ["Uitkomst", OUTCOME_NAMES[complaint.outcome]],
      ["Antwoord", complaint.answer], ["Doorgestuurd naar", complaint.forwarded_to],
    ]),
    h("section", { class: "console-section", "aria-labelledby": "kop-melder" }, heading(2, "Melder", { id: "kop-melder" }),
      complaint.anonymous ? paragraph("Anoniem gemeld.")
        : reporter ? facts([["Naam", reporter.name], ["E-mail", reporter.email], ["Telefoon", reporter.phone],
                            ["Wil terugkoppeling", complaint.wants_feedback ? "Ja" : "Nee"],
                            ...complaint.feedback_emails.map((mail) => [FEEDBACK_KINDS[mail.kind], feedbackText(mail, reporter)]),
                            ["Op een andere manier geïnformeerd", informedText(complaint.reporter_informed)]])
          : paragraph("U mag de gegevens van de melder niet zien."),
      complaint.reporter_to_inform ? informForm(complaint) : null),
    h("section", { class: "console-section", "aria-labelledby": "kop-actie" }, heading(2, "Volgende stap", { id: "kop-actie" }),
      transitionForm(complaint)),
    h("section", { class: "console-section", "aria-labelledby": "kop-historie" }, heading(2, "Historie", { id: "kop-historie" }),
      h("ol", { class: "utrecht-ordered-list" }, complaint.history.map((entry) => h("li", { class: "utrecht-ordered-list__item" },
        `${formatDate(entry.occurred_at)}: ${STATES[entry.to_state] || entry.to_state}${entry.reason ? ` – ${entry.reason}` : ""}`)))));
}

// Whether the reporter heard from us: an e-mail that failed for good asks the handler to contact them another way.
const FEEDBACK_KINDS = { acknowledgement: "E-mail ontvangstbevestiging", answer: "E-mail antwoord" };

function feedbackText(mail, reporter) {
  switch (mail.state) {
    case "sent": return `Verzonden op ${formatDate(mail.sent_at)}`;
    case "pending": return mail.attempts ? `Wordt opnieuw geprobeerd (${mail.attempts} pogingen)` : "Wordt verzonden";
    case "failed": return `Mislukt: ${mailError(mail.last_error)}. De melder heeft dit bericht niet ontvangen. `
      + (reporter.phone ? `Bel de melder op ${reporter.phone}.` : "Neem op een andere manier contact op met de melder.");
    default: return "Geannuleerd";
  }
}

// After a failed e-mail the handler informs the reporter another way and records how; the complaint then leaves the
// list of reporters not reached, until another e-mail fails.
const INFORMED_HOW = [["phone", "Telefonisch"], ["letter", "Per brief"], ["visit", "Bij een bezoek"]];
const INFORMED_HOW_NAMES = Object.fromEntries(INFORMED_HOW);

function informedText(informed) {
  return informed ? `${INFORMED_HOW_NAMES[informed.how] || informed.how} op ${formatDate(informed.at)}` : null;
}

function informForm(complaint) {
  return commandForm(complaint, "reporter-informed", "Vastleggen dat de melder is geïnformeerd",
    field("Hoe is de melder geïnformeerd?", "select", { name: "how", required: true }, INFORMED_HOW));
}

// A form that posts its filled-in fields to one of the complaint's commands (If-Match: the version shown) and shows
// the complaint again, or the refusal in words.
function commandForm(complaint, command, submitText, ...fields) {
  const form = h("form", { class: "console-form", novalidate: true }, ...fields,
    h("div", {}, button(submitText, null, { primary: true, type: "submit" })));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await api(`/api/v1/complaints/${complaint.id}/${command}`,
        { method: "POST", body: formValues(form), version: complaint.version });
      await complaintScreen(complaint.id);
    } catch (error) {
      showError(describe(error));
    }
  });
  return form;
}

// The allowed transitions come from the service; the form asks only what the chosen one needs.
function transitionForm(complaint) {
  if (!complaint.allowed_transitions.length) return paragraph("Er is nu geen volgende stap mogelijk.");
  const details = h("div", { class: "console-form" });
  const choice = field("Nieuwe status", "select", { name: "to" },
    complaint.allowed_transitions.map((state) => [state, STATES[state] || state]));
  const select = choice.querySelector("select");
  const showDetails = () => details.replaceChildren(...detailFields(select.value, complaint));
  select.addEventListener("change", showDetails);
  showDetails();
  return commandForm(complaint, "transitions", "Status wijzigen", choice, details);
}

function detailFields(target, complaint) {
  const reason = (required) => field(required ? "Reden" : "Reden (optioneel)", "textarea", { name: "reason", rows: 2, required });
  if (target === "resolved") {
    return [field("Uitkomst", "select", { name: "outcome", required: true }, OUTCOMES),
            complaint.wants_feedback ? field("Antwoord aan de melder", "textarea", { name: "answer", rows: 4, required: true }) : null,
            reason(false)].filter(Boolean);
  }
  if (target === "rejected") {
    return [field("Doorgestuurd naar", "input", { name: "forwarded_to", required: true }),
            complaint.wants_feedback ? field("Antwoord aan de melder", "textarea", { name: "answer", rows: 4, required: true }) : null,
            reason(true)].filter(Boolean);
  }
  if (target === "reopened") return [reason(true)];
  return [reason(false)];
}

export async function newComplaintScreen() {
  const categories = (await api("/api/v1/complaints/categories")).items;
  const form = h("form", { class: "console-form", novalidate: true },
    field("Categorie", "select", { name: "category", required: true }, categories.map((c) => [c.key, c.name])),
    field("Kanaal", "select", { name: "channel", required: true }, CHANNELS),
    field("Omschrijving", "textarea", { name: "description", rows: 4, required: true }),
    h("fieldset", { class: "utrecht-form-fieldset console-form" }, h("legend", { class: "utrecht-form-fieldset__legend" }, "Adres"),
      field("Straat", "input", { name: "street", autocomplete: "off" }),
      field("Huisnummer", "input", { name: "house_number", inputmode: "numeric" }),
      field("Postcode", "input", { name: "postcode" })),
    h("fieldset", { class: "utrecht-form-fieldset console-form" }, h("legend", { class: "utrecht-form-fieldset__legend" }, "Melder (optioneel)"),
      field("Naam", "input", { name: "name" }), field("E-mail", "input", { name: "email", type: "email" }),
      field("Telefoon", "input", { name: "phone", type: "tel" }),
      field("Wil terugkoppeling", "select", { name: "wants_feedback" }, [["false", "Nee"], ["true", "Ja"]])),
    h("div", {}, button("Klacht registreren", null, { primary: true, type: "submit" })));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const v = Object.fromEntries(new FormData(form).entries());
    const reporter = Object.fromEntries(["name", "email", "phone"].filter((k) => v[k]).map((k) => [k, v[k]]));
    const body = { category: v.category, channel: v.channel, description: v.description, wants_feedback: v.wants_feedback === "true" };
    if (v.street || v.house_number || v.postcode) body.address = { street: v.street, house_number: Number(v.house_number), postcode: v.postcode };
    if (Object.keys(reporter).length) body.reporter = reporter;
    try {
      const created = await api("/api/v1/complaints", { method: "POST", body });
      navigate(`#/klachten/${created.id}`);
    } catch (error) {
      showError(describe(error));
    }
  });
  render("Nieuwe klacht", form);
}
