// The Dutch words for the enforcement API's codes: regimes, wijken, statuses, steps, decisions and terms.
export const REGIMES = { alcohol: "Alcoholwet", nix18: "NIX18", coffeeshop: "Coffeeshops", sexwork: "Seksbranche",
                         gambling: "Kansspelen" };
export const WIJKEN = {
  binnenstad: "Binnenstad", oost: "Oost", leidsche_rijn: "Leidsche Rijn", west: "West", overvecht: "Overvecht",
  zuid: "Zuid", noordoost: "Noordoost", zuidwest: "Zuidwest", noordwest: "Noordwest", vleuten_de_meern: "Vleuten-De Meern",
};
export const DEADLINES = {
  zienswijze: "Zienswijze", begunstigingstermijn: "Begunstigingstermijn", bezwaar_term: "Bezwaartermijn",
  bezwaar_decision: "Beslistermijn bezwaar", payment: "Betaling", invordering_limit: "Invordering",
};
export const CASE_STATUSES = {
  open: "Open", warned: "Gewaarschuwd", voornemen: "Voornemen", besluit: "Besluit", hercontrole: "Hercontrole",
  invordering: "Invordering", bezwaar: "Bezwaar", closed: "Gesloten",
};
export const STEPS = { warning: "Waarschuwing", voornemen: "Voornemen", besluit: "Besluit", hercontrole: "Hercontrole",
                       invordering: "Invordering", bezwaar: "Bezwaar" };
export const DECISIONS = {
  boete: "Bestuurlijke boete", last_onder_dwangsom: "Last onder dwangsom", last_onder_bestuursdwang: "Last onder bestuursdwang",
  schorsing: "Schorsing vergunning", intrekking: "Intrekking vergunning", ontzegging_19a: "Verkoopverbod (art. 19a)",
  sluiting_13b: "Sluiting (art. 13b Opiumwet)",
};
export const STEP_STATUSES = {
  draft: "Concept", approved: "Goedgekeurd", sent: "Verzonden", planned: "Gepland", complied: "Nageleefd",
  forfeited: "Verbeurd", registered: "Geregistreerd", decided: "Beslist", called_off: "Vervallen",
};
export const OUTCOMES = { complied: "Nageleefd", forfeited: "Verbeurd", gegrond: "Gegrond", ongegrond: "Ongegrond",
                          niet_ontvankelijk: "Niet-ontvankelijk" };

// Why an e-mail to a reporter failed, in words a handler can act on; the code stays beside them for whoever looks
// into it with the mail server's administrator (backend/outbox/email.py names these codes).
const MAIL_ERRORS = {
  recipient_refused: "de mailserver van de melder weigert dit e-mailadres",
  no_recipient: "er is geen e-mailadres meer om naar te sturen",
  timeout: "onze mailserver antwoordde niet op tijd",
  connection_failed: "geen verbinding met onze mailserver",
};

export function mailError(code) {
  return code ? `${mailErrorWords(code)} (${code})` : "onbekende fout";
}

function mailErrorWords(code) {
  if (MAIL_ERRORS[code]) return MAIL_ERRORS[code];
  if (/^smtp_4\d\d$/.test(code)) return "de mailserver kon het bericht tijdelijk niet aannemen";
  if (/^smtp_5\d\d$/.test(code)) return "de mailserver weigerde het bericht";
  return "onbekende fout";
}

export function word(table, code) {
  return code ? table[code] || code : "";
}

export function euros(cents) {
  if (cents === null || cents === undefined) return "";
  return new Intl.NumberFormat("nl-NL", { style: "currency", currency: "EUR" }).format(cents / 100);
}

// What a worklist calls a case's target: the establishment's name, else its address.
export function targetName(item) {
  return item.object_name || item.address || "Adres niet zichtbaar";
}
