// The only door to the service: /api/v1 with the signed-in user's token. The token lives in this module's memory
// only (never in storage or a URL), so it is gone when the tab closes or reloads.
let accessToken = null;

export function setToken(token) { accessToken = token; }
export function signedIn() { return accessToken !== null; }

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `Fout ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

const MESSAGES = {
  400: "Het verzoek klopt niet; controleer wat u heeft ingevuld.",
  401: "U bent niet (meer) aangemeld. Meld u opnieuw aan.",
  403: "U heeft geen toegang tot deze gegevens of deze handeling.",
  404: "Dit bestaat niet, of u mag het niet zien.",
  409: "Dit kan nu niet: de toestand is intussen veranderd of staat het niet toe.",
  412: "Iemand anders heeft dit intussen gewijzigd. Laad de pagina opnieuw.",
  422: "De invoer is niet volledig of niet juist.",
  429: "Te veel verzoeken. Wacht even en probeer het opnieuw.",
};

// The service's stable problem codes in Dutch words. A code not listed here is shown as it is, beside the general
// sentence for the status: the service's own detail is English and meant for developers.
const CODES = {
  four_eyes: "U mag dit besluit niet goedkeuren: u heeft het zelf opgesteld of de overtreding zelf vastgesteld. Een tweede jurist keurt het goed (vier-ogenprincipe).",
  not_a_draft: "Deze stap is geen concept (meer), of de brief is sinds de goedkeuring niet veranderd: opnieuw goedkeuren is niet nodig.",
  no_approval_needed: "Deze stap heeft geen goedkeuring nodig.",
  not_approved: "Dit besluit is nog niet goedgekeurd door een tweede jurist en kan nog niet worden verzonden.",
  not_sendable: "Deze stap kan niet worden verzonden.",
  already_sent: "Deze stap is al verzonden.",
  case_closed: "De zaak is gesloten en verandert niet meer.",
  stale_version: "Iemand anders heeft de zaak intussen gewijzigd. Laad de pagina opnieuw.",
  precondition_failed: "Iemand anders heeft de zaak intussen gewijzigd. Laad de pagina opnieuw.",
  voornemen_required: "Voor dit besluit moet eerst een voornemen zijn verzonden dat nog door geen besluit is gevolgd en dat deze overtredingen noemt, met gelegenheid voor een zienswijze (Awb 4:8).",
  zienswijze_term_running: "De termijn voor de zienswijze loopt nog.",
  zienswijze_recorded: "De zienswijze is al vastgelegd.",
  not_a_sent_voornemen: "Een zienswijze hoort bij een verzonden voornemen.",
  deviation_reason_required: "U wijkt af van het voorstel: geef de reden van afwijking.",
  already_fined: "Voor deze overtreding is al een boete opgelegd of in voorbereiding.",
  letter_data_missing: "De brief mist gegevens die erin moeten staan.",
  letter_template_missing: "Er is geen briefsjabloon voor deze stap.",
  no_letter: "Bij deze stap hoort geen brief.",
  document_tampered: "De opgeslagen brief komt niet meer overeen met de vastgelegde vingerafdruk en wordt niet getoond.",
  not_a_sent_decision: "Dit kan alleen bij een verzonden besluit.",
  bezwaar_exists: "Tegen dit besluit is al bezwaar geregistreerd.",
  not_a_pending_bezwaar: "Dit bezwaar is al beslist of bestaat niet.",
  outcome_recorded: "De uitkomst is al vastgelegd.",
  no_outcome: "Voor deze stap is geen uitkomst vast te leggen.",
  above_maximum: "Het bedrag ligt boven het maximum.",
  collection_time_barred: "De invordering is verjaard (Awb 5:35).",
  nothing_forfeited: "Een invordering hoort bij een hercontrole waarbij de dwangsom is verbeurd.",
  already_collected: "Voor dit verbeurde bedrag is al een invordering opgesteld.",
  above_forfeited: "Het bedrag is hoger dan het verbeurde bedrag.",
  article_unknown: "Voor een overtreding staat het wetsartikel nog niet in de checklist: een brief zonder artikel houdt geen stand. Laat de checklist met het artikel publiceren.",
  letter_changed: "De brief is veranderd sinds de goedkeuring. Een tweede jurist keurt hem opnieuw goed voordat hij wordt verzonden.",
  already_withdrawn: "Dit besluit is ingetrokken.",
  already_posted: "Deze brief is al als gepost vastgelegd.",
  no_failed_email: "Er is niets vast te leggen: sinds de melder voor het laatst is geïnformeerd is geen e-mail mislukt en is er geen antwoord voor een melder zonder e-mailadres.",
  last_not_in_force: "De last onder dwangsom is ingetrokken of in bezwaar vernietigd: er wordt niets verbeurd of ingevorderd.",
  not_for_post: "Deze brief gaat per e-mail; hij hoeft niet gepost te worden.",
  step_withdrawn: "Dit besluit is ingetrokken voordat de brief werd gepost; hij wordt niet meer gepost.",
  begunstigingstermijn_running: "De begunstigingstermijn loopt nog: binnen de termijn wordt niets verbeurd.",
  reason_required: "Een ander bedrag dan het verbeurde bedrag volgens het besluit vraagt om een reden.",
  validation_failed: "",
};
const FIELDS = {
  "/type": "Soort stap", "/decision": "Besluit", "/amount_cents": "Bedrag", "/document_text": "Motivering",
  "/deviation_reason": "Reden van afwijking", "/sent_on": "Verzenddatum", "/received_on": "Ontvangen op",
  "/posted_on": "Op de post gedaan op", "/summary": "Samenvatting", "/observed_on": "Datum hercontrole",
  "/result": "Uitkomst", "/weeks": "Weken", "/months": "Maanden", "/dwangsom_cents": "Dwangsom",
  "/dwangsom_max_cents": "Maximum", "/begunstiging_days": "Begunstigingstermijn", "/answer": "Antwoord aan de melder", "/violation_ids": "Overtredingen", "/addressee": "Geadresseerde", "/reason": "Reden",
  from: "Vanaf", to: "Tot en met",
};

// The server's error in words: our sentence for the status, the code's meaning (or the code itself, when we have no
// words for it), and which fields to check.
export function describe(error) {
  if (!(error instanceof ApiError)) return "De service is niet bereikbaar. Probeer het later opnieuw.";
  const general = MESSAGES[error.status] || "Er ging iets mis bij de service.";
  const code = error.problem.code;
  const meaning = Object.hasOwn(CODES, code) ? CODES[code] : code ? `(Foutcode: ${code}.)` : "";
  const fields = [...new Set((error.problem.errors || []).map((item) => {
    const where = item.parameter || item.pointer || "";
    return FIELDS[where] || FIELDS[where.replace(/\/\d+$/, "")] || where.replace(/^\//, "");
  }))];
  return [general, meaning, fields.length ? `Controleer: ${fields.join(", ")}.` : ""].filter(Boolean).join(" ");
}

export async function api(path, { method = "GET", body, version, accept = "application/json" } = {}) {
  if (!path.startsWith("/api/v1/")) throw new Error("the console calls only /api/v1");
  const headers = { Accept: accept };
  if (accessToken) headers.Authorization = `Bearer ${accessToken}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (version !== undefined) headers["If-Match"] = `"${version}"`;
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body),
                                       credentials: "omit", cache: "no-store" });
  const type = response.headers.get("Content-Type") || "";
  const data = type.includes("json") ? await response.json() : await response.blob();  // charts, CSV
  if (!response.ok) throw new ApiError(response.status, type.includes("json") ? data : {});
  return data;
}

// A query string from the filled-in values only.
export function query(parameters) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(parameters)) {
    if (value !== null && value !== undefined && value !== "") search.set(name, value);
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}
