// The widget's settings in one place: the embedding page's data-* attributes, checked, and the server's limits with safe defaults.

/** With no byte of a stream for this long, the answer is given up as "the server stopped responding". */
export var IDLE_MS = 90000;

/**
 * The request limits used until the server's GET /widget-config answers, and for good if it does not: the
 * values this widget always used, each at or under the server's defaults (casepilot/settings.py), so a
 * server left at its defaults accepts every request they allow.
 */
export var DEFAULT_LIMITS = Object.freeze({
  maxMessageChars: 4000, // CASEPILOT_MAX_MESSAGE_CHARS (server default 4000)
  maxHistoryTurns: 20, // CASEPILOT_MAX_HISTORY_TURNS (40)
  maxTurnChars: 4000, // CASEPILOT_MAX_TURN_CHARS (20000)
  maxBodyBytes: 256000, // CASEPILOT_MAX_BODY_BYTES (256000)
});

var SERVER_NAMES = {
  maxMessageChars: "max_message_chars",
  maxHistoryTurns: "max_history_turns",
  maxTurnChars: "max_turn_chars",
  maxBodyBytes: "max_body_bytes",
};

/** The server's limits (GET /widget-config), each one a sane integer or else its default; defaults when the call fails. */
export function loadLimits(api) {
  return fetch(api + "/widget-config", { credentials: "omit", cache: "no-store" })
    .then(function (r) { return r.ok ? r.json() : null; })
    .then(function (j) { return limitsFrom(j); }, function () { return limitsFrom(null); });
}

function limitsFrom(j) {
  var out = {};
  Object.keys(DEFAULT_LIMITS).forEach(function (k) {
    var v = j && typeof j === "object" ? j[SERVER_NAMES[k]] : undefined;
    out[k] = typeof v === "number" && Math.floor(v) === v && v >= 0 && v <= 1e9 ? v : DEFAULT_LIMITS[k];
  });
  return out;
}

/**
 * A label for the page's data-code ("CPT 76140"). data-code-system names the system; without it the label
 * is a guess from the code's shape (casepilot/codes.py's shapes), and a code of no known shape stays bare.
 */
export function codeLabel(code, system) {
  if (system) return system.slice(0, 20) + " " + code;
  if (/^\d{5}$/.test(code) || /^\d{4}[FTU]$/.test(code)) return "CPT " + code;
  if (/^[A-Z]\d[0-9A-Z]\.[0-9A-Z]{1,4}$/.test(code)) return "ICD-10-CM " + code;
  if (/^[A-V]\d{4}$/.test(code)) return "HCPCS " + code;
  if (/^[0-9A-HJ-NP-Z]{7}$/.test(code) && /\d/.test(code)) return "ICD-10-PCS " + code;
  if (/^[A-Z]\d[0-9A-Z]$/.test(code)) return "ICD-10-CM " + code;
  return code;
}

/**
 * The embed's settings from the script tag's data-* attributes (``data``: name without "data-" to value) and the
 * script's own URL ``src`` (data-api defaults to its origin); null, with a console warning, when data-api is
 * not an http(s) URL.
 */
export function readConfig(data, src) {
  function attr(name, dflt) {
    var v = data ? data[name] : null;
    return v == null || String(v).trim() === "" ? dflt : String(v).trim();
  }

  var api;
  try {
    api = new URL(attr("api", new URL(src, location.href).origin), location.href);
  } catch (e) {
    api = null;
  }
  if (!api || (api.protocol !== "http:" && api.protocol !== "https:")) {
    if (window.console) console.warn("CasePilot widget: data-api must be an http(s) URL");
    return null;
  }
  var rawCode = attr("code", "");
  var code = /^[A-Za-z0-9][A-Za-z0-9.\-]{1,11}$/.test(rawCode) ? rawCode.toUpperCase() : "";
  var starters = attr("starters", "")
    ? attr("starters", "").split("|").map(function (s) { return s.trim(); }).filter(Boolean).slice(0, 4)
    : code
      ? ["What is it used for?", "What documentation supports it?", "Which modifiers may apply?"]
      : ["What is CPT code 99213?", "When do I use modifier 25?", "ICD-10-CM code for type 2 diabetes with CKD?"];
  return Object.freeze({
    api: api.href.replace(/\/+$/, ""),
    key: attr("key", ""),
    title: attr("title", "CasePilot").slice(0, 80),
    code: code,
    codeLabel: code ? codeLabel(code, attr("code-system", "")) : "",
    starters: starters,
    left: attr("position", "") === "left",
    open: attr("open", "") === "true",
  });
}
