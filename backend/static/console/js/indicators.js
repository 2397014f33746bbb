// The performance indicators for a period: the key figures, the two charts and the CSV download. Charts and CSV
// are fetched with the user's token and shown from blob: URLs (an <img src> to /api/v1 would carry no token).
import { api, describe, query } from "./api.js";
import { clearError, render, showError } from "./app.js";
import { button, dateField, formValues, h, heading, table, todayIso } from "./dom.js";

function share(figure) {
  return figure.share === null ? "–" : `${Math.round(figure.share * 1000) / 10}%`;
}

function figureRow(label, figure) {
  return [label, String(figure.numerator), String(figure.denominator), share(figure)];
}

async function chart(path, description) {
  const image = await api(path, { accept: "image/png" });
  return h("figure", { class: "console-section" },
    h("img", { class: "console-chart", src: URL.createObjectURL(image), alt: description }),
    h("figcaption", { class: "utrecht-paragraph" }, description));
}

async function downloadCsv(parameters) {
  const csv = await api(`/api/v1/reports/indicators${query(parameters)}`, { accept: "text/csv" });
  const anchor = h("a", { href: URL.createObjectURL(csv), download: `indicatoren-${parameters.from || "jaar"}.csv` });
  document.body.append(anchor);
  anchor.click();
  anchor.remove();
}

export async function indicatorsScreen() {
  const today = todayIso();
  const parameters = { from: `${today.slice(0, 4)}-01-01`, to: today };
  const results = h("div", { "aria-live": "polite" });
  const form = h("form", { class: "console-form", novalidate: true },
    dateField("Vanaf", "from", parameters.from),
    dateField("Tot en met", "to", parameters.to),
    h("div", {}, button("Tonen", null, { primary: true, type: "submit" })));

  async function show(values) {
    const report = await api(`/api/v1/reports/indicators${query(values)}`);
    const compliance = report.compliance;
    results.replaceChildren(
      table("Kerncijfers", ["Indicator", "Aantal", "Van", "Aandeel"], [
        figureRow("Controles uitgevoerd", report.controls.done),
        figureRow("Vergunningcontroles", report.controls.vergunningcontroles),
        figureRow("Controles na een klacht", report.controls.following_complaint),
        figureRow("Hercontroles", report.controls.hercontroles),
        figureRow("Naleving", compliance.overall),
        ...compliance.per_wijk.map((group) => figureRow(`Naleving ${group.label}`, group)),
      ]),
      h("div", { class: "console-pager" }, button("Download als CSV", () => downloadCsv(values))),
      heading(2, "Grafieken"),
      await chart(`/api/v1/reports/charts/compliance-per-wijk.png${query(values)}`, "Naleving per wijk in deze periode"),
      await chart(`/api/v1/reports/charts/trend.png${query(values)}`, "Controles en naleving per maand"));
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await show(formValues(form));
      clearError();
    } catch (error) {
      showError(describe(error));
    }
  });
  render("Indicatoren", form, results);
  await show(parameters);
}
