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
  401: "U bent niet (meer) aangemeld. Meld u opnieuw aan.",
  403: "U heeft geen toegang tot deze gegevens of deze handeling.",
  404: "Dit bestaat niet, of u mag het niet zien.",
  409: "Dit kan nu niet: de toestand is intussen veranderd of staat het niet toe.",
  412: "Iemand anders heeft dit intussen gewijzigd. Laad de pagina opnieuw.",
  422: "De invoer is niet volledig of niet juist.",
  429: "Te veel verzoeken. Wacht even en probeer het opnieuw.",
};

// The server's error in words: our sentence for the status, then the server's own explanation.
export function describe(error) {
  if (!(error instanceof ApiError)) return "De service is niet bereikbaar. Probeer het later opnieuw.";
  const general = MESSAGES[error.status] || "Er ging iets mis bij de service.";
  const fields = (error.problem.errors || []).map((item) => `${item.parameter || item.pointer || ""}: ${item.detail}`).join("; ");
  return [general, error.problem.detail, fields].filter(Boolean).join(" ");
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
