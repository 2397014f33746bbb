// The jurist's worklist: deadlines overdue and within 7 days (the service counts them by the Atw calendar), the
// decisions awaiting my approval as the second officer, the steps ready to send, the letters to post, and open cases by regime and wijk. Every list names each
// case's establishment and address itself: one request per page.
import { api, query } from "./api.js";
import { currentUser, render } from "./app.js";
import { button, field, formatDate, h, heading, link, paragraph, table } from "./dom.js";
import { pagedTable } from "./pages.js";
import { CASE_STATUSES, DEADLINES, DECISIONS, REGIMES, STEPS, WIJKEN, euros, targetName, word } from "./words.js";

function deadlineRow(item) {
  return [link(`#/zaken/${item.case_id}`, `${word(DEADLINES, item.kind)}: ${targetName(item)}`), item.address || "",
          word(WIJKEN, item.wijk), word(REGIMES, item.regime), formatDate(item.due_on)];
}

function deadlineList(caption, items) {
  return items.length ? table(caption, ["Termijn", "Adres", "Wijk", "Regime", "Uiterlijk"], items.map(deadlineRow))
                      : paragraph(`${caption}: geen.`);
}

function approvalRow(item) {
  const what = item.decision ? word(DECISIONS, item.decision) : word(STEPS, item.type);
  return [link(`#/zaken/${item.case_id}`, `${what}: ${targetName(item)}`), item.address || "", word(WIJKEN, item.wijk),
          euros(item.amount_cents), item.drafted_by_name || "Onbekend", formatDate(item.drafted_at)];
}

function readyRow(item) {
  const what = item.decision ? `${word(STEPS, item.type)} – ${word(DECISIONS, item.decision)}` : word(STEPS, item.type);
  return [link(`#/zaken/${item.case_id}`, `${what}: ${targetName(item)}`), item.address || "", word(WIJKEN, item.wijk),
          item.status === "approved" ? "Goedgekeurd" : "Concept", item.drafted_by_name || "Onbekend", formatDate(item.drafted_at)];
}

function letterRow(item) {
  const what = `${word(STEPS, item.type)}${item.decision ? ` – ${word(DECISIONS, item.decision)}` : ""}`;
  return [link(`#/zaken/${item.case_id}`, `${what} (stap ${item.seq}): ${targetName(item)}`), item.address || "",
          word(WIJKEN, item.wijk), formatDate(item.sent_on)];
}

function caseRow(item) {
  return [link(`#/zaken/${item.id}`, targetName(item)), item.kenmerk, item.address || "", word(REGIMES, item.regime),
          word(WIJKEN, item.wijk), word(CASE_STATUSES, item.status), String(item.violation_count), formatDate(item.opened_at)];
}

function section(id, title, ...content) {
  return h("section", { class: "console-section", "aria-labelledby": id }, heading(2, title, { id }), ...content);
}

// Open cases, narrowed to a regime and a wijk with a small form; the table pages with the API's cursors.
function openCases() {
  const user = currentUser();
  const results = h("div", { "aria-live": "polite" });
  const form = h("form", { class: "console-form console-filters", novalidate: true },
    field("Regime", "select", { name: "regime" }, [["", "Alle regimes"], ...user.regimes.map((r) => [r, word(REGIMES, r)])]),
    field("Wijk", "select", { name: "wijk" }, [["", "Alle wijken"], ...Object.entries(WIJKEN)]),
    field("Kenmerk", "input", { name: "kenmerk", autocomplete: "off" }),
    h("div", {}, button("Zaken tonen", null, { type: "submit" })));
  const show = () => {
    const values = Object.fromEntries(new FormData(form).entries());
    results.replaceChildren(pagedTable("Open zaken", ["Zaak", "Kenmerk", "Adres", "Regime", "Wijk", "Status", "Overtredingen", "Geopend"],
      `/api/v1/enforcement/cases${query({ open: true, ...values })}`, caseRow));
  };
  form.addEventListener("submit", (event) => { event.preventDefault(); show(); });
  show();
  return [form, results];
}

export async function enforcementScreen() {
  const deadlines = await api("/api/v1/enforcement/deadlines");
  const approver = currentUser().roles.includes("enforcement_officer");
  render("Handhaving",
    section("kop-verlopen", "Verlopen termijnen", deadlineList("Verlopen termijnen", deadlines.overdue)),
    section("kop-termijnen", `Termijnen tot en met ${formatDate(deadlines.until)}`,
      deadlineList("Termijnen die binnenkort verlopen", deadlines.expiring)),
    approver ? section("kop-goedkeuren", "Wacht op mijn goedkeuring",
      paragraph("Besluiten die een collega opstelde. Uw eigen concepten keurt een tweede jurist goed (vier-ogenprincipe)."),
      pagedTable("Besluiten die wachten op uw goedkeuring", ["Besluit", "Adres", "Wijk", "Bedrag", "Opgesteld door", "Opgesteld"],
        "/api/v1/enforcement/approvals", approvalRow)) : null,
    approver ? section("kop-verzenden", "Klaar om te verzenden",
      paragraph("Waarschuwingen en voornemens in concept, en besluiten die een tweede jurist goedkeurde, die nog niet zijn verzonden. Verzend ze vanuit de zaak."),
      pagedTable("Stappen die verzonden kunnen worden", ["Stap", "Adres", "Wijk", "Stand", "Opgesteld door", "Opgesteld"],
        "/api/v1/enforcement/ready-to-send", readyRow)) : null,
    approver ? section("kop-posten", "Te posten",
      paragraph("Verzonden brieven die niet zijn gemaild of waarvan de e-mail mislukte. Druk de brief af vanuit de zaak, post hem en leg vast dat hij is gepost."),
      pagedTable("Brieven die nog gepost moeten worden", ["Brief", "Adres", "Wijk", "Verzonden op"],
        "/api/v1/enforcement/letters-to-post", letterRow)) : null,
    section("kop-zaken", "Open zaken", ...openCases()));
}
