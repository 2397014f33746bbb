// Building elements from data, never from markup strings: text is always text.
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

export function heading(level, text, attributes = {}) {
  return h(`h${level}`, { class: `utrecht-heading-${level}`, ...attributes }, text);
}

export function paragraph(...children) {
  return h("p", { class: "utrecht-paragraph" }, ...children);
}

export function link(href, text, attributes = {}) {
  return h("a", { class: "utrecht-link", href, ...attributes }, text);
}

export function button(text, onclick, { primary = false, type = "button", ...attributes } = {}) {
  const kind = primary ? "utrecht-button--primary-action" : "utrecht-button--secondary-action";
  return h("button", { class: `utrecht-button ${kind}`, type, onclick, ...attributes }, text);
}

let fieldCount = 0;

// A labelled form field; `control` is "input", "select" or "textarea".
export function field(label, control, attributes = {}, options = []) {
  const id = `veld-${++fieldCount}`;
  const classes = { input: "utrecht-textbox utrecht-textbox--html-input", select: "utrecht-select utrecht-select--html-select",
                    textarea: "utrecht-textarea utrecht-textarea--html-textarea" };
  const input = h(control, { id, class: classes[control], ...attributes },
    options.map(([value, text]) => h("option", { value }, text)));
  return h("div", { class: "utrecht-form-field" },
    h("label", { class: "utrecht-form-label", for: id }, label), h("div", {}, input));
}

export function table(caption, headers, rows) {
  return h("table", { class: "utrecht-table console-table" },
    h("caption", { class: "utrecht-table__caption" }, caption),
    h("thead", { class: "utrecht-table__header" },
      h("tr", { class: "utrecht-table__row" }, headers.map((text) => h("th", { class: "utrecht-table__header-cell", scope: "col" }, text)))),
    h("tbody", { class: "utrecht-table__body" },
      rows.map((cells) => h("tr", { class: "utrecht-table__row" }, cells.map((cell) => h("td", { class: "utrecht-table__cell" }, cell))))));
}

export function facts(pairs) {
  return h("dl", { class: "console-facts" }, pairs.filter(([, value]) => value !== null && value !== undefined && value !== "")
    .flatMap(([term, value]) => [h("dt", {}, term), h("dd", {}, value)]));
}

// Dates as Dutch readers expect them, whatever language the browser has: "4 december 2026" in text, dd-mm-jjjj
// in fields (a date input would follow the browser's language, mm/dd/yyyy in an English one).
export function formatDate(iso) {
  if (!iso) return "";
  const value = new Date(iso.length === 10 ? `${iso}T12:00:00` : iso);
  const options = iso.length === 10 ? { dateStyle: "long" } : { dateStyle: "long", timeStyle: "short" };
  return new Intl.DateTimeFormat("nl-NL", { timeZone: "Europe/Amsterdam", ...options }).format(value);
}

// Today in Europe/Amsterdam, as the API writes a date (jjjj-mm-dd).
export function todayIso() {
  return new Intl.DateTimeFormat("en-CA", { timeZone: "Europe/Amsterdam" }).format(new Date());
}

function fieldDate(iso) {
  const [year, month, day] = iso.split("-");
  return `${day}-${month}-${year}`;
}

// dd-mm-jjjj (or d-m-jjjj) as the API's jjjj-mm-dd; anything else goes as typed, and the service says what is wrong.
function apiDate(text) {
  const parts = /^\s*(\d{1,2})[-./](\d{1,2})[-./](\d{4})\s*$/.exec(text);
  return parts ? `${parts[3]}-${parts[2].padStart(2, "0")}-${parts[1].padStart(2, "0")}` : text;
}

export function dateField(label, name, iso = null) {
  return field(`${label} (dd-mm-jjjj)`, "input", { name, "data-date": true, inputmode: "numeric", autocomplete: "off",
                                                   value: iso ? fieldDate(iso) : "" });
}

// A form's filled-in values, its date fields as the API writes dates.
export function formValues(form) {
  const dates = new Set([...form.querySelectorAll("[data-date]")].map((input) => input.name));
  return Object.fromEntries([...new FormData(form).entries()].filter(([, value]) => value !== "")
    .map(([name, value]) => [name, dates.has(name) ? apiDate(value) : value]));
}

export function address(location) {
  if (!location || !location.street) return "";
  const number = `${location.house_number ?? ""}${location.house_number_addition ?? ""}`;
  return `${location.street} ${number}, ${location.postcode ?? ""}`.trim();
}
