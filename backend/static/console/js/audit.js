// The auditor's screen: who read or changed what, by person and by period.
import { query } from "./api.js";
import { render } from "./app.js";
import { button, dateField, field, formatDate, formValues, h } from "./dom.js";
import { pagedTable } from "./pages.js";
import { word } from "./words.js";

const HEADERS = ["Moment", "Wie", "Handeling", "Object", "Reden"];

// What was done to what, in the auditor's words ("Handhavingszaak: stap verzonden"); a code without words here
// is shown as it is, so nothing recorded is hidden.
const OBJECTS = {
  inspection: "Inspectie", enforcement_case: "Handhavingszaak", complaint: "Klacht", photo: "Foto",
  establishment: "Object", location: "Locatie", permit: "Vergunning", assignment: "Opdracht", user: "Gebruiker",
  checklist_template: "Checklist", letter_template: "Briefsjabloon", outbox_message: "Uitgaand bericht",
  webhook_subscription: "Webhook-abonnement",
};
const DEEDS = {
  submitted: "ingediend", corrected: "gecorrigeerd", reviewed: "goedgekeurd", returned: "teruggestuurd",
  photo_received: "foto ontvangen", read: "ingezien", created: "aangemaakt", updated: "gewijzigd", deleted: "verwijderd",
  opened: "geopend", closed: "gesloten", merged: "samengevoegd", merged_in: "opgegaan in een andere zaak",
  step_drafted: "stap opgesteld", step_approved: "stap goedgekeurd", step_sent: "stap verzonden",
  step_withdrawn: "stap ingetrokken", violations_added: "overtredingen toegevoegd",
  zienswijze_recorded: "zienswijze vastgelegd", outcome_recorded: "uitkomst vastgelegd",
  hercontrole_inspected: "hercontrole uitgevoerd", bezwaar_registered: "bezwaar geregistreerd",
  bezwaar_changed: "bezwaar gewijzigd", letter_posted: "brief gepost", document_read: "brief ingezien",
  document_tampered: "gewijzigd document geweigerd", addressee_read: "adres van de geadresseerde ingezien",
  addressee_set: "geadresseerde vastgelegd", imported: "geïmporteerd", published: "gepubliceerd",
  reporter_read: "gegevens van de melder ingezien", handler_assigned: "behandelaar toegewezen",
  in_progress: "in behandeling genomen", inspection_planned: "controle gepland", rejected: "doorgestuurd",
  resolved: "afgehandeld", reopened: "heropend", uploaded: "geüpload", discarded: "verwijderd",
  replayed: "opnieuw verzonden", registered: "geregistreerd", claims_changed: "rechten gewijzigd",
  activated: "geactiveerd", deactivated: "gedeactiveerd", cancelled: "geannuleerd",
};

function deed(action) {
  const [type, verb] = action.split(/\.(.*)/s);
  return OBJECTS[type] && DEEDS[verb] ? `${OBJECTS[type]}: ${DEEDS[verb]}` : action;
}

function row(event) {
  return [formatDate(event.occurred_at), event.actor_name || event.actor_label, deed(event.action),
          `${word(OBJECTS, event.object_type)} ${event.object_id}`, event.reason || ""];
}

export async function auditScreen() {
  const results = h("div", { "aria-live": "polite" });
  const form = h("form", { class: "console-form", novalidate: true },
    field("Persoon (gebruikers-id, optioneel)", "input", { name: "actor_id" }),
    dateField("Vanaf", "from"),
    dateField("Tot en met", "to"),
    h("div", {}, button("Zoeken", null, { primary: true, type: "submit" })));
  const show = () => {
    const values = formValues(form);
    results.replaceChildren(pagedTable("Auditgebeurtenissen", HEADERS, `/api/v1/audit-events${query(values)}`, row));
  };
  form.addEventListener("submit", (event) => { event.preventDefault(); show(); });
  render("Audit", form, results);
  show();
}
