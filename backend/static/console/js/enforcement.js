// The jurist's screens, read-only for now: deadlines within 7 days and overdue (the service counts them by the
// Atw calendar), open cases by regime and wijk, and a case with its violations and steps.
import { api, query } from "./api.js";
import { render } from "./app.js";
import { facts, formatDate, h, heading, link, paragraph, table } from "./dom.js";
import { pagedTable } from "./pages.js";

const DEADLINES = {
  zienswijze: "Zienswijze", begunstigingstermijn: "Begunstigingstermijn", bezwaar_term: "Bezwaartermijn",
  bezwaar_decision: "Beslistermijn bezwaar", payment: "Betaling", invordering_limit: "Invordering",
};
const STATUSES = {
  open: "Open", warned: "Gewaarschuwd", voornemen: "Voornemen", besluit: "Besluit", hercontrole: "Hercontrole",
  invordering: "Invordering", bezwaar: "Bezwaar", closed: "Gesloten",
};
const STEPS = { warning: "Waarschuwing", voornemen: "Voornemen", besluit: "Besluit", hercontrole: "Hercontrole",
                invordering: "Invordering", bezwaar: "Bezwaar" };

function deadlineRows(items) {
  return items.map((item) => [link(`#/zaken/${item.case_id}`, DEADLINES[item.kind] || item.kind), item.regime,
                              formatDate(item.due_on)]);
}

function deadlineList(caption, items) {
  return items.length ? table(caption, ["Termijn", "Regime", "Uiterlijk"], deadlineRows(items))
                      : paragraph(`${caption}: geen.`);
}

function caseRow(item) {
  return [link(`#/zaken/${item.id}`, `Zaak van ${formatDate(item.opened_at)}`), item.regime, item.wijk,
          STATUSES[item.status] || item.status, String(item.violation_count)];
}

export async function enforcementScreen() {
  const deadlines = await api("/api/v1/enforcement/deadlines");
  render("Handhaving",
    h("section", { class: "console-section", "aria-labelledby": "kop-verlopen" }, heading(2, "Verlopen termijnen", { id: "kop-verlopen" }),
      deadlineList("Verlopen termijnen", deadlines.overdue)),
    h("section", { class: "console-section", "aria-labelledby": "kop-termijnen" },
      heading(2, `Termijnen tot en met ${formatDate(deadlines.until)}`, { id: "kop-termijnen" }),
      deadlineList("Termijnen die binnenkort verlopen", deadlines.expiring)),
    h("section", { class: "console-section", "aria-labelledby": "kop-zaken" }, heading(2, "Open zaken", { id: "kop-zaken" }),
      pagedTable("Open zaken", ["Zaak", "Regime", "Wijk", "Status", "Overtredingen"],
        `/api/v1/enforcement/cases${query({ open: true })}`, caseRow)));
}

export async function caseScreen(id) {
  const found = await api(`/api/v1/enforcement/cases/${id}`);
  render(`Zaak ${found.regime}, ${found.wijk}`,
    facts([["Status", STATUSES[found.status] || found.status], ["Geopend", formatDate(found.opened_at)],
           ["Gesloten", formatDate(found.closed_at)], ["Resultaat", found.result]]),
    h("section", { class: "console-section", "aria-labelledby": "kop-overtredingen" },
      heading(2, "Overtredingen", { id: "kop-overtredingen" }),
      found.violations.length ? table("Overtredingen in deze zaak", ["Code", "Artikel", "Vastgesteld", "Beboet"],
        found.violations.map((v) => [v.code, v.article_key, formatDate(v.observed_on), v.fined ? "Ja" : "Nee"]))
        : paragraph("Geen overtredingen.")),
    h("section", { class: "console-section", "aria-labelledby": "kop-stappen" }, heading(2, "Stappen", { id: "kop-stappen" }),
      found.steps.length ? table("Stappen in deze zaak", ["Stap", "Besluit", "Status"],
        found.steps.map((step) => [STEPS[step.type] || step.type, step.decision || "", step.status]))
        : paragraph("Nog geen stappen.")));
}
