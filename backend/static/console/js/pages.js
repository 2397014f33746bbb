// A list that pages with the API's cursors: one request per page, "Volgende pagina" asks for the next one.
import { api, describe } from "./api.js";
import { button, h, paragraph, table } from "./dom.js";

const PAGE_SIZE = 25;

export function pagedTable(caption, headers, path, toRow) {
  const section = h("div", { class: "console-paged" });
  const pages = [null];  // the cursor of each page seen, to go back
  let index = 0;

  async function load() {
    const separator = path.includes("?") ? "&" : "?";
    const cursor = pages[index];
    const url = `${path}${separator}limit=${PAGE_SIZE}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
    try {
      const page = await api(url);
      if (page.next_cursor && pages.length === index + 1) pages.push(page.next_cursor);
      const body = page.items.length ? table(caption, headers, page.items.map(toRow))
                                     : paragraph(`${caption}: geen.`);
      const pager = h("div", { class: "console-pager" },
        index > 0 ? button("Vorige pagina", () => { index -= 1; load(); }) : null,
        page.next_cursor ? button("Volgende pagina", () => { index += 1; load(); }) : null);
      section.replaceChildren(body, pager);
    } catch (error) {
      section.replaceChildren(paragraph(`${caption}: ${describe(error)}`));
    }
  }

  load();
  return section;
}
