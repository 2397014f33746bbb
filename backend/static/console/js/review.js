// The coordinator's review: inspections ready for review that they were not present at (the service leaves those
// out), one inspection with its violations, and accepting it or returning it to the inspectors with a reason.
import { api, describe, query } from "./api.js";
import { navigate, render, showError } from "./app.js";
import { address, button, facts, field, formatDate, h, heading, link, paragraph } from "./dom.js";
import { pagedTable } from "./pages.js";
import { REGIMES, WIJKEN, word } from "./words.js";

const STATES = { submitted: "Ingediend (foto's volgen)", complete: "Compleet", returned: "Teruggestuurd",
                 corrected: "Gecorrigeerd", reviewed: "Beoordeeld" };
const HEADERS = ["Object", "Adres", "Wijk", "Inspecteurs", "Gecontroleerd", "Status"];

function row(inspection) {
  return [link(`#/inspecties/${inspection.id}`, inspection.object_name || "Locatie zonder object"),
          address(inspection), word(WIJKEN, inspection.wijk), inspection.inspector_names.join(", "),
          formatDate(inspection.inspected_at), STATES[inspection.state] || inspection.state];
}

const REASONS = { regular_cycle: "Reguliere cyclus", hercontrole: "Hercontrole", complaint: "Klacht",
                  verscherpt_toezicht: "Verscherpt toezicht", project: "Project" };

function overdueRow(assignment) {
  return [assignment.team_id, word(WIJKEN, assignment.wijk), assignment.regimes.map((regime) => word(REGIMES, regime)).join(", "),
          `${formatDate(assignment.planned_from)} – ${formatDate(assignment.planned_to)}`,
          REASONS[assignment.reason] || assignment.reason];
}

export async function reviewListScreen() {
  render("Te beoordelen",
    paragraph("Inspecties van uw teams die klaar zijn voor beoordeling. Inspecties waarbij u zelf aanwezig was, beoordeelt een collega."),
    pagedTable("Inspecties om te beoordelen", HEADERS, `/api/v1/inspections${query({ awaiting_my_review: true })}`, row),
    h("section", { class: "console-section", "aria-labelledby": "kop-te-laat" },
      heading(2, "Opdrachten over hun termijn", { id: "kop-te-laat" }),
      pagedTable("Geplande opdrachten waarvan de periode voorbij is", ["Team", "Wijk", "Regimes", "Periode", "Aanleiding"],
        `/api/v1/assignments${query({ overdue: true })}`, overdueRow)));
}

export async function inspectionScreen(id) {
  const inspection = await api(`/api/v1/inspections/${id}`);
  const after = async (action, body) => {
    try {
      await api(`/api/v1/inspections/${id}/${action}`, { method: "POST", body, version: inspection.version });
      navigate("#/beoordelen");
    } catch (error) {
      showError(describe(error));
    }
  };
  const returnForm = h("form", { class: "console-form", novalidate: true },
    field("Reden voor terugsturen", "textarea", { name: "reason", rows: 3, required: true }),
    h("div", {}, button("Terugsturen", null, { type: "submit" })));
  returnForm.addEventListener("submit", (event) => {
    event.preventDefault();
    after("return", { reason: new FormData(returnForm).get("reason") });
  });
  const violations = inspection.violations.map((v) => h("li", { class: "utrecht-unordered-list__item" },
    `${v.code}: ${v.question}`));
  render("Inspectie beoordelen",
    facts([["Status", STATES[inspection.state] || inspection.state], ["Wijk", word(WIJKEN, inspection.wijk)],
           ["Team", inspection.team_id], ["Gecontroleerd", formatDate(inspection.inspected_at)],
           ["Waarnemingen", inspection.observations], ["Reden eerder teruggestuurd", inspection.return_reason]]),
    h("section", { class: "console-section", "aria-labelledby": "kop-overtredingen" },
      heading(2, "Overtredingen", { id: "kop-overtredingen" }),
      violations.length ? h("ul", { class: "utrecht-unordered-list" }, violations) : paragraph("Geen overtredingen vastgesteld.")),
    h("section", { class: "console-section", "aria-labelledby": "kop-oordeel" }, heading(2, "Oordeel", { id: "kop-oordeel" }),
      h("div", { class: "console-pager" }, button("Goedkeuren", () => after("review"), { primary: true })),
      returnForm));
}
