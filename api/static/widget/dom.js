// DOM helpers (text only, never markup): every string the widget shows becomes a text node or an attribute value.

/**
 * An element: ``props`` are attributes, except ``class``, ``text`` (its textContent) and ``on*`` (listeners);
 * ``kids`` are nodes or strings (strings become text nodes). There is no way to pass markup.
 */
export function h(tag, props, kids) {
  var el = document.createElement(tag);
  if (props) {
    Object.keys(props).forEach(function (k) {
      var v = props[k];
      if (v == null || v === false) return;
      if (k === "class") el.className = v;
      else if (k === "text") el.textContent = v;
      else if (k.slice(0, 2) === "on") el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? "" : String(v));
    });
  }
  (kids || []).forEach(function (c) {
    if (c != null) el.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
  });
  return el;
}

/** A one-path SVG icon (``d`` is one of the constants below, never text from the server). */
export function svg(d) {
  var NS = "http://www.w3.org/2000/svg";
  var s = document.createElementNS(NS, "svg");
  s.setAttribute("class", "icon");
  s.setAttribute("viewBox", "0 0 24 24");
  s.setAttribute("aria-hidden", "true");
  s.setAttribute("focusable", "false");
  var p = document.createElementNS(NS, "path");
  p.setAttribute("d", d);
  s.appendChild(p);
  return s;
}

export var CHAT_BUBBLE = "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z";
export var THUMB_UP = "M1 21h4V9H1v12zm22-11c0-1.1-.9-2-2-2h-6.31l.95-4.57.03-.32c0-.41-.17-.79-.44-1.06L14.17 1 7.59 7.59C7.22 7.95 7 8.45 7 9v10c0 1.1.9 2 2 2h9c.83 0 1.54-.5 1.84-1.22l3.02-7.05c.09-.23.14-.47.14-.73v-2z";
export var THUMB_DOWN = "M15 3H6c-.83 0-1.54.5-1.84 1.22l-3.02 7.05c-.09.23-.14.47-.14.73v2c0 1.1.9 2 2 2h6.31l-.95 4.57-.03.32c0 .41.17.79.44 1.06L9.83 23l6.59-6.59c.36-.36.58-.86.58-1.41V5c0-1.1-.9-2-2-2zm4 0v12h4V3h-4z";

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
}

/** An http(s) URL (relative ones against ``base``, the API), or null: javascript:, data:, vbscript: and the rest are refused. */
export function safeUrl(u, base) {
  if (typeof u !== "string" || !u) return null;
  try {
    var url = new URL(u, base + "/");
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  } catch (e) {
    return null;
  }
}

/** A link that opens in a new tab and tells the target nothing, or struck-through text when the URL is refused. */
export function link(href, label, base) {
  var safe = safeUrl(href, base);
  if (!safe) return h("span", { class: "blocked-link", title: "Link removed: only http(s) links are shown", text: label });
  return h("a", { href: safe, target: "_blank", rel: "noopener noreferrer nofollow ugc", referrerpolicy: "no-referrer", text: label });
}

/** The host a label or hostname names: "cms.gov", "WWW.CMS.GOV" and "www.cms.gov/x" all name cms.gov. */
export function bareHost(s) {
  return String(s).trim().toLowerCase().replace(/^https?:\/\//, "").split(/[\/?#]/)[0].replace(/^www\./, "").replace(/\.$/, "");
}

/** A Markdown link from an answer, followed by the host it really goes to unless its label names that host. */
export function answerLink(parent, href, label, base) {
  var a = link(href, label, base);
  parent.appendChild(a);
  if (a.tagName !== "A") return;
  var host = new URL(a.href).hostname;
  if (bareHost(label) === bareHost(host)) return;
  parent.appendChild(h("span", { class: "link-host", title: "This link goes to " + host, text: " (" + host + ")" }));
}
