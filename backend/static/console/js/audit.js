// The auditor's screen: who read or changed what, by person and by period.
import { query } from "./api.js";
import { render } from "./app.js";
import { button, dateField, field, formatDate, formValues, h } from "./dom.js";
import { pagedTable } from "./pages.js";

const HEADERS = ["Moment", "Wie", "Handeling", "Object", "Reden"];

function row(event) {
  return [formatDate(event.occurred_at), event.actor_name || event.actor_label, event.action,
          `${event.object_type} ${event.object_id}`, event.reason || ""];
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
