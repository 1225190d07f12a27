/*
 * CasePilot embeddable chat widget.
 *   <script src="https://HOST/widget.js" data-api="https://HOST" data-key="PUBLIC_KEY"
 *           data-title="Coding help" data-code="76140" async></script>
 * Optional: data-code-system ("CPT", "HCPCS", "ICD-10-CM", "ICD-10-PCS"), data-starters ("q1|q2"),
 * data-position ("left"), data-open ("true").
 * One IIFE, no globals, Shadow DOM, no innerHTML: untrusted text only ever becomes text nodes.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  if (!script) {
    var found = document.querySelectorAll('script[src*="widget.js"]');
    script = found[found.length - 1];
  }
  if (!script) return;

  function attr(name, dflt) {
    var v = script.getAttribute("data-" + name);
    return v == null || v.trim() === "" ? dflt : v.trim();
  }

  var API;
  try {
    API = new URL(attr("api", new URL(script.src, location.href).origin), location.href);
  } catch (e) {
    API = null;
  }
  if (!API || (API.protocol !== "http:" && API.protocol !== "https:")) {
    if (window.console) console.warn("CasePilot widget: data-api must be an http(s) URL");
    return;
  }
  API = API.href.replace(/\/+$/, "");
  var KEY = attr("key", "");
  var TITLE = attr("title", "CasePilot").slice(0, 80);
  var RAW_CODE = attr("code", "");
  var CODE = /^[A-Za-z0-9][A-Za-z0-9.\-]{1,11}$/.test(RAW_CODE) ? RAW_CODE.toUpperCase() : "";
  var CODE_LABEL = CODE ? codeLabel(CODE, attr("code-system", "")) : "";
  var MAX_TURNS = 20;
  var MAX_CHARS = 4000;
  var IDLE_MS = 90000;

  function codeLabel(code, system) {
    if (system) return system.slice(0, 20) + " " + code;
    if (/^\d{5}$/.test(code) || /^\d{4}[FTU]$/.test(code)) return "CPT " + code;
    if (/^[A-TV-Z]\d[0-9A-Z]\.[0-9A-Z]{1,4}$/.test(code)) return "ICD-10-CM " + code;
    if (/^[A-V]\d{4}$/.test(code)) return "HCPCS " + code;
    if (/^[0-9A-HJ-NP-Z]{7}$/.test(code) && /\d/.test(code)) return "ICD-10-PCS " + code;
    if (/^[A-TV-Z]\d[0-9A-Z]$/.test(code)) return "ICD-10-CM " + code;
    return code;
  }

  var STARTERS = attr("starters", "")
    ? attr("starters", "").split("|").map(function (s) { return s.trim(); }).filter(Boolean).slice(0, 4)
    : CODE
      ? ["What is it used for?", "What documentation supports it?", "Which modifiers may apply?"]
      : ["What is CPT code 99213?", "When do I use modifier 25?", "ICD-10-CM code for type 2 diabetes with CKD?"];

  /* ---------- DOM helpers (text only, never markup) ---------- */

  function h(tag, props, kids) {
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

  function svg(d) {
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

  var THUMB_UP = "M1 21h4V9H1v12zm22-11c0-1.1-.9-2-2-2h-6.31l.95-4.57.03-.32c0-.41-.17-.79-.44-1.06L14.17 1 7.59 7.59C7.22 7.95 7 8.45 7 9v10c0 1.1.9 2 2 2h9c.83 0 1.54-.5 1.84-1.22l3.02-7.05c.09-.23.14-.47.14-.73v-2z";
  var THUMB_DOWN = "M15 3H6c-.83 0-1.54.5-1.84 1.22l-3.02 7.05c-.09.23-.14.47-.14.73v2c0 1.1.9 2 2 2h6.31l-.95 4.57-.03.32c0 .41.17.79.44 1.06L9.83 23l6.59-6.59c.36-.36.58-.86.58-1.41V5c0-1.1-.9-2-2-2zm4 0v12h4V3h-4z";

  function clear(el) {
    while (el.firstChild) el.removeChild(el.firstChild);
  }

  /** An http(s) URL, or null: javascript:, data:, vbscript: and the rest are refused. */
  function safeUrl(u) {
    if (typeof u !== "string" || !u) return null;
    try {
      var url = new URL(u, API + "/");
      return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
    } catch (e) {
      return null;
    }
  }

  function link(href, label) {
    var safe = safeUrl(href);
    if (!safe) return h("span", { class: "blocked-link", title: "Link removed: only http(s) links are shown", text: label });
    return h("a", { href: safe, target: "_blank", rel: "noopener noreferrer nofollow ugc", referrerpolicy: "no-referrer", text: label });
  }

  /** The host a label or hostname names: "cms.gov", "WWW.CMS.GOV" and "www.cms.gov/x" all name cms.gov. */
  function bareHost(s) {
    return String(s).trim().toLowerCase().replace(/^https?:\/\//, "").split(/[\/?#]/)[0].replace(/^www\./, "").replace(/\.$/, "");
  }

  /** A Markdown link from an answer, followed by the host it really goes to unless its label names that host. */
  function answerLink(parent, href, label) {
    var a = link(href, label);
    parent.appendChild(a);
    if (a.tagName !== "A") return;
    var host = new URL(a.href).hostname;
    if (bareHost(label) === bareHost(host)) return;
    parent.appendChild(h("span", { class: "link-host", title: "This link goes to " + host, text: " (" + host + ")" }));
  }

  /* ---------- safe Markdown subset, built with DOM APIs ---------- */

  // A label stops at the next "[" and a URL at the next "(" that does not open a one-level "(...)" group, so
  // no two starts scan the same stretch of text and a render stays linear in its length.
  function hrefPattern(min) {
    return "((?:[^\\s()]|\\([^\\s()]{0,200}\\)){" + min + ",2000})";
  }
  var LINK_TITLE = "(?:[ \\t]+\"[^\"\\n]{0,200}\")?";
  var IMAGE = "!\\[([^\\[\\]\\n]{0,200})\\]\\(" + hrefPattern(0) + LINK_TITLE + "\\)";
  var LINK = "\\[([^\\[\\]\\n]{1,200})\\]\\(" + hrefPattern(1) + LINK_TITLE + "\\)";

  var INLINE = new RegExp(
    [
      "(`[^`\\n]+`)", // 1 code span
      "(\\*\\*(?=\\S)[^*\\n]*?\\S\\*\\*)", // 2 bold
      "(" + IMAGE + ")", // 3 image (4 alt, 5 url)
      "(" + LINK + ")", // 6 link (7 label, 8 url)
      "(\\[(\\d{1,3})\\])", // 9 citation (10 n)
      "(\\[unverified code\\])", // 11 verification mark
      "(\\*(?=\\S)[^*\\n]*?\\S\\*)", // 12 italic
    ].join("|"),
    "g"
  );
  var TOKEN = /\b[0-9A-Z][0-9A-Z.]{2,8}\b/g;

  function isCodeLike(t) {
    return (
      /^\d{5}$/.test(t) ||
      /^\d{4}[FTU]$/.test(t) ||
      /^[A-V]\d{4}$/.test(t) ||
      /^[A-TV-Z]\d[0-9A-Z]\.[0-9A-Z]{1,4}$/.test(t) ||
      (/^[0-9A-HJ-NP-Z]{7}$/.test(t) && /\d/.test(t) && /[A-Z]/.test(t))
    );
  }

  /**
   * The server's verdict on one entry of the done event's ``codes``: chip classes, a title and the marks to show.
   * Only ``verified: true`` reads as verified; ``supported`` absent or null (older servers) adds no mark.
   */
  function verdict(c) {
    var v = { classes: [], titles: [], marks: [] };
    if (c.verified === true) {
      v.classes.push("verified");
      v.titles.push("Found in the loaded code sets");
    } else {
      v.classes.push("unverified");
      v.titles.push("Not verified: not found in the loaded code sets");
      v.marks.push({ class: "badge unverified-badge", text: "unverified" });
    }
    if (c.supported === false) {
      v.classes.push("unsupported");
      v.titles.push("Not in the cited sources");
      v.marks.unshift({ class: "badge unsupported-mark", text: "not in the cited sources" });
    }
    return v;
  }

  var UNCHECKED = { classes: ["unchecked"], titles: ["Not checked yet: codes are checked when the answer is complete"], marks: [] };

  /** A code in the answer's text as a chip styled by the server's verdict; unchecked while the answer streams. */
  function codeChip(tok, v, ctx) {
    var span = h("span", { class: "code " + v.classes.join(" "), title: v.titles.join("; ") }, [tok]);
    var marked = String(ctx.msg.text).indexOf(tok + " [unverified code]") >= 0;
    if (v.classes.indexOf("unverified") >= 0 && !marked) span.appendChild(h("span", { class: "badge", text: " unverified" }));
    return span;
  }

  function renderText(text, parent, ctx) {
    var last = 0;
    text.replace(TOKEN, function (tok, at) {
      var known = ctx.codes && ctx.codes[tok];
      // Before the done event only the shape is known; after it only the server's list makes a chip.
      var v = known ? verdict(known) : !ctx.codes && isCodeLike(tok) ? UNCHECKED : null;
      if (!v) return tok;
      if (at > last) parent.appendChild(document.createTextNode(text.slice(last, at)));
      parent.appendChild(codeChip(tok, v, ctx));
      last = at + tok.length;
      return tok;
    });
    if (last < text.length) parent.appendChild(document.createTextNode(text.slice(last)));
  }

  function renderInline(text, parent, ctx) {
    var last = 0;
    var m;
    INLINE.lastIndex = 0;
    var matches = [];
    while ((m = INLINE.exec(text))) matches.push(m);
    matches.forEach(function (m) {
      if (m.index > last) renderText(text.slice(last, m.index), parent, ctx);
      last = m.index + m[0].length;
      if (m[1]) parent.appendChild(h("code", { text: m[1].slice(1, -1) }));
      else if (m[2]) {
        var b = h("strong");
        renderInline(m[2].slice(2, -2), b, ctx);
        parent.appendChild(b);
      } else if (m[3]) {
        // Images are never loaded: the alt text stands in.
        parent.appendChild(h("span", { class: "img-alt", title: "Image not loaded", text: "[image" + (m[4] ? ": " + m[4] : "") + "]" }));
      } else if (m[6]) answerLink(parent, m[8], m[7]);
      else if (m[9]) parent.appendChild(citeMarker(parseInt(m[10], 10), ctx));
      else if (m[11]) parent.appendChild(h("span", { class: "badge unverified-mark", text: "unverified code" }));
      else if (m[12]) {
        var i = h("em");
        renderInline(m[12].slice(1, -1), i, ctx);
        parent.appendChild(i);
      }
    });
    if (last < text.length) renderText(text.slice(last), parent, ctx);
  }

  function renderMarkdown(src, root, ctx) {
    var lines = String(src).replace(/\r\n?/g, "\n").split("\n");
    var para = [];
    var list = null;
    function flushPara() {
      if (!para.length) return;
      var p = h("p");
      para.forEach(function (l, j) {
        if (j) p.appendChild(h("br"));
        renderInline(l, p, ctx);
      });
      root.appendChild(p);
      para = [];
    }
    function flush() {
      flushPara();
      list = null;
    }
    for (var i = 0; i < lines.length; i++) {
      var line = lines[i];
      var m;
      if (/^\s*```/.test(line)) {
        flush();
        var buf = [];
        for (i++; i < lines.length && !/^\s*```/.test(lines[i]); i++) buf.push(lines[i]);
        root.appendChild(h("pre", null, [h("code", { text: buf.join("\n") })]));
        continue;
      }
      if (!line.trim()) {
        flush();
        continue;
      }
      if ((m = /^\s*#{1,6}\s+(.*)$/.exec(line))) {
        flush();
        var hd = h("p", { class: "md-h" });
        renderInline(m[1], hd, ctx);
        root.appendChild(hd);
        continue;
      }
      var ul = /^\s*[-*+]\s+(.*)$/.exec(line);
      var ol = ul ? null : /^\s*\d{1,3}[.)]\s+(.*)$/.exec(line);
      if (ul || ol) {
        flushPara();
        var tag = ul ? "ul" : "ol";
        if (!list || list.tagName.toLowerCase() !== tag) {
          list = h(tag);
          root.appendChild(list);
        }
        var li = h("li");
        renderInline((ul || ol)[1], li, ctx);
        list.appendChild(li);
        continue;
      }
      if (list && /^\s{2,}\S/.test(line)) {
        list.lastChild.appendChild(document.createTextNode(" "));
        renderInline(line.trim(), list.lastChild, ctx);
        continue;
      }
      list = null;
      para.push(line.replace(/^\s*>\s?/, ""));
    }
    flush();
  }

  /** The answer as plain text: link and image labels kept, citation markers and the space before them dropped. */
  function plainText(src) {
    var parts = String(src)
      .replace(new RegExp(IMAGE, "g"), "$1")
      .replace(new RegExp(LINK, "g"), "$1")
      .split(/\[\d{1,3}\]/);
    // trimEnd, not /\s*\[n\]/: that regex rescans a long run of spaces from each of its positions.
    return parts.map(function (p, i) { return i < parts.length - 1 ? p.trimEnd() : p; }).join("").replace(/[*`#>]/g, "");
  }

  /* ---------- styles ---------- */

  var CSS = [
    ":host{all:initial}",
    ".root{font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif;color:#1b1f24;-webkit-text-size-adjust:100%}",
    ".root *,.root *::before,.root *::after{box-sizing:border-box}",
    "button,textarea{font:inherit;color:inherit}",
    "button{cursor:pointer}",
    ":focus-visible{outline:3px solid #f5a623;outline-offset:2px}",
    ".sr-only{position:absolute!important;width:1px;height:1px;padding:0;margin:-1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap;border:0}",
    ".launcher{position:fixed;bottom:20px;right:20px;z-index:2147483000;display:flex;align-items:center;gap:8px;max-width:calc(100vw - 40px);min-height:48px;padding:10px 18px;border:0;border-radius:24px;background:#0b5cad;color:#fff;font-weight:600;box-shadow:0 4px 14px rgba(0,0,0,.25)}",
    ".launcher:hover{background:#094c8f}",
    ".launcher svg{width:22px;height:22px;flex:none;fill:currentColor}",
    ".launcher span{overflow:hidden;text-overflow:ellipsis;white-space:nowrap}",
    ".left .launcher{right:auto;left:20px}",
    ".panel{position:fixed;bottom:84px;right:20px;z-index:2147483001;width:400px;max-width:calc(100vw - 40px);height:620px;max-height:calc(100vh - 110px);display:flex;flex-direction:column;background:#fff;border:1px solid #c9d1da;border-radius:12px;box-shadow:0 10px 40px rgba(0,0,0,.25);overflow:hidden}",
    ".left .panel{right:auto;left:20px}",
    ".panel[hidden]{display:none}",
    "header{display:flex;align-items:center;gap:6px;padding:10px 10px 10px 16px;background:#0b5cad;color:#fff}",
    "header h2{flex:1;margin:0;font-size:16px;font-weight:600;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}",
    "header .ctx{font-weight:400;opacity:.9;font-size:13px;display:block}",
    "header button{min-width:36px;min-height:36px;padding:4px 10px;border:1px solid rgba(255,255,255,.6);border-radius:6px;background:transparent;color:#fff;font-size:13px}",
    "header button:hover{background:rgba(255,255,255,.15)}",
    "header .close{font-size:20px;line-height:1;border-color:transparent}",
    ".log{flex:1;overflow-y:auto;padding:14px 14px 4px;background:#f6f8fa;overscroll-behavior:contain}",
    ".intro p{margin:0 0 10px}",
    ".starters{list-style:none;margin:0 0 12px;padding:0;display:flex;flex-direction:column;gap:8px}",
    ".starters button{width:100%;text-align:left;padding:9px 12px;border:1px solid #0b5cad;border-radius:8px;background:#fff;color:#0b5cad}",
    ".starters button:hover{background:#e8f0fb}",
    ".msg{margin:0 0 14px;display:flex;flex-direction:column}",
    ".msg.user{align-items:flex-end}",
    ".bubble{max-width:88%;padding:9px 12px;border-radius:12px;overflow-wrap:anywhere}",
    ".user .bubble{background:#0b5cad;color:#fff;white-space:pre-wrap;border-bottom-right-radius:4px}",
    ".assistant .bubble{max-width:100%;background:#fff;border:1px solid #dde3ea;border-bottom-left-radius:4px}",
    ".body p{margin:0 0 8px}.body p:last-child{margin-bottom:0}",
    ".body ul,.body ol{margin:0 0 8px;padding-left:22px}",
    ".body pre{white-space:pre-wrap;background:#f0f2f5;padding:8px;border-radius:6px;font-size:13px}",
    ".body code,.code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.92em}",
    ".md-h{font-weight:700}",
    ".body a,.sources a{color:#0b5cad;text-decoration:underline}",
    ".blocked-link{text-decoration:line-through dotted}",
    ".link-host{color:#57606a;font-size:.9em}",
    ".img-alt{color:#57606a;font-style:italic}",
    ".code{background:#e8f0fb;color:#0a3d75;border:1px solid #b6cdea;border-radius:4px;padding:0 3px;font-weight:600;white-space:nowrap}",
    ".code.unchecked{background:#f0f2f5;color:#3d444d;border:1px dashed #8c959f}",
    ".code.unsupported{background:#fff4d6;color:#5c3d00;border:1px dashed #b7791f}",
    ".code.unverified{background:#fdecec;color:#8a1c1c;border:1px dashed #c0392b}",
    ".badge{display:inline-block;margin-left:3px;padding:0 5px;border-radius:8px;background:#c0392b;color:#fff;font-size:11px;font-weight:700;vertical-align:1px}",
    ".code .badge{margin-left:4px}",
    ".cite{display:inline;padding:0 2px;margin:0 1px;border:0;background:none;color:#0b5cad;font-size:.8em;font-weight:700;vertical-align:super;line-height:1;text-decoration:underline}",
    ".typing::after{content:'\\2026';color:#57606a}",
    ".note{color:#57606a;font-size:13px;font-style:italic;margin-top:6px}",
    ".error{margin-top:8px;padding:8px 10px;border:1px solid #c0392b;border-radius:8px;background:#fdecec;color:#8a1c1c}",
    ".error p{margin:0 0 6px}",
    ".error button,.actions button,.sources .toggle{padding:4px 10px;border:1px solid #8c959f;border-radius:6px;background:#fff;font-size:13px;min-height:32px}",
    ".error button{border-color:#8a1c1c;color:#8a1c1c;font-weight:600}",
    ".codes{list-style:none;display:flex;flex-wrap:wrap;gap:6px;margin:8px 0 0;padding:0;font-size:13px}",
    ".codes li{padding:1px 7px;border-radius:10px;background:#e8f0fb;color:#0a3d75;border:1px solid #b6cdea}",
    ".codes li.unsupported{background:#fff4d6;color:#5c3d00;border:1px dashed #b7791f}",
    ".codes li.unverified{background:#fdecec;color:#8a1c1c;border:1px dashed #c0392b}",
    ".codes .badge{margin-left:5px}",
    ".badge.unsupported-mark{background:#8a5a00}",
    ".sources{margin-top:8px}",
    ".sources ol{margin:8px 0 0;padding-left:24px;font-size:13px}",
    ".sources ol[hidden]{display:none}",
    ".sources li{margin:0 0 8px;padding:6px 8px;border-radius:6px;background:#f6f8fa}",
    ".sources li.flash{background:#fff4d6;outline:2px solid #f5a623}",
    ".src-title{font-weight:600}",
    ".cov{margin-top:8px;padding:8px 10px;border:1px solid #c9d1da;border-left:4px solid #57606a;border-radius:8px;background:#fbfcfd;font-size:13px}",
    ".cov.supported{border-left-color:#1a7f37}.cov.not_supported{border-left-color:#c0392b}.cov.not_decided{border-left-color:#b7791f}",
    ".cov h3{margin:0 0 4px;font-size:14px}.cov p{margin:0 0 6px}.cov ul{margin:0 0 6px;padding-left:18px}",
    ".cov .verdict{display:inline-block;padding:0 6px;border-radius:8px;background:#57606a;color:#fff;font-weight:700}",
    ".cov.supported .verdict{background:#1a7f37}.cov.not_supported .verdict{background:#c0392b}.cov.not_decided .verdict{background:#8a5a00}",
    ".cov .rows li{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px;overflow-wrap:anywhere}",
    ".src-meta{color:#57606a;font-size:12px}",
    ".src-snippet{margin:4px 0 0;color:#333;overflow-wrap:anywhere}",
    ".actions{display:flex;gap:6px;margin-top:8px;flex-wrap:wrap}",
    ".actions button[aria-pressed=true]{background:#0b5cad;color:#fff;border-color:#0b5cad}",
    ".actions svg{width:16px;height:16px;fill:currentColor;vertical-align:-3px}",
    "form{display:flex;gap:8px;align-items:flex-end;padding:10px;border-top:1px solid #dde3ea;background:#fff}",
    "textarea{flex:1;min-height:44px;max-height:140px;resize:none;padding:10px;border:1px solid #8c959f;border-radius:8px;font-size:16px;background:#fff}",
    "form button{min-height:44px;padding:0 16px;border:0;border-radius:8px;background:#0b5cad;color:#fff;font-weight:600}",
    "form button:disabled{background:#8c959f;cursor:not-allowed}",
    "form .stop{background:#8a1c1c}",
    "form button[hidden]{display:none}",
    "footer{padding:6px 12px 8px;font-size:11.5px;color:#57606a;background:#fff;border-top:1px solid #eef1f4}",
    "@media (max-width:480px){",
    ".panel{inset:0;width:auto;max-width:none;height:auto;max-height:none;border-radius:0;border:0}",
    ".launcher{bottom:14px;right:14px;max-width:calc(100vw - 28px)}",
    ".left .launcher{left:14px}",
    ".open .launcher{display:none}",
    "}",
  ].join("\n");

  /* ---------- state ---------- */

  var state = {
    history: [], // [{role, content}] kept in memory for the page visit
    busy: false,
    controller: null,
    conversationId: null,
    answers: 0,
    generation: 0,
    footerLoaded: false,
  };
  var ui = {};

  function mount() {
    var host = document.createElement("casepilot-widget");
    host.setAttribute("data-casepilot", "");
    var shadow = host.attachShadow({ mode: "open" });
    if (shadow.adoptedStyleSheets !== undefined && typeof CSSStyleSheet === "function" && "replaceSync" in CSSStyleSheet.prototype) {
      var sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
      shadow.adoptedStyleSheets = [sheet];
    } else {
      shadow.appendChild(h("style", { text: CSS }));
    }

    var launchText = CODE ? "Have a question about " + CODE_LABEL + "?" : "Ask " + TITLE;
    ui.launcher = h("button", {
      class: "launcher", type: "button", "aria-expanded": "false", "aria-controls": "cp-panel",
      "aria-label": launchText, onclick: function () { toggle(); },
    }, [svg("M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z"), h("span", { text: launchText })]);

    ui.log = h("div", { class: "log", id: "cp-log", role: "log", "aria-live": "off", "aria-label": "Conversation", tabindex: "-1" });
    ui.input = h("textarea", {
      id: "cp-input", rows: "1", maxlength: String(MAX_CHARS), autocomplete: "off",
      placeholder: CODE ? "Ask about " + CODE_LABEL + "…" : "Ask a coding question…",
      onkeydown: function (e) {
        if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
          e.preventDefault();
          submit();
        }
      },
      oninput: autosize,
    });
    ui.send = h("button", { type: "submit", class: "send", text: "Send" });
    ui.stop = h("button", { type: "button", class: "stop", hidden: true, text: "Stop", "aria-label": "Stop answering", onclick: stop });
    ui.form = h("form", {
      "aria-label": "Ask CasePilot",
      onsubmit: function (e) { e.preventDefault(); submit(); },
    }, [h("label", { class: "sr-only", for: "cp-input", text: "Your question" }), ui.input, ui.send, ui.stop]);
    ui.footerVersions = h("span", { text: "" });
    ui.footer = h("footer", null, [ui.footerVersions, h("span", { text: "Check answers against the cited sources before billing." })]);
    ui.announcer = h("div", { class: "sr-only", "aria-live": "polite", "aria-atomic": "false", id: "cp-live" });
    ui.status = h("div", { class: "sr-only", role: "status", "aria-live": "polite", id: "cp-status" });
    ui.title = h("h2", { id: "cp-title" }, [TITLE, CODE ? h("span", { class: "ctx", text: "About " + CODE_LABEL }) : null]);
    ui.panel = h("section", {
      class: "panel", id: "cp-panel", role: "dialog", "aria-modal": "false", "aria-labelledby": "cp-title", hidden: true,
      onkeydown: function (e) {
        if (e.key === "Escape") {
          e.stopPropagation();
          close();
        } else if (e.key === "Tab" && FULLSCREEN.matches) trapFocus(e);
      },
    }, [
      h("header", null, [
        ui.title,
        h("button", { type: "button", class: "new", text: "New chat", onclick: newChat }),
        h("button", { type: "button", class: "close", "aria-label": "Close chat", title: "Close", text: "\u00d7", onclick: close }),
      ]),
      ui.log, ui.announcer, ui.status, ui.form, ui.footer,
    ]);
    ui.root = h("div", { class: "root" + (attr("position", "") === "left" ? " left" : "") }, [ui.panel, ui.launcher]);
    shadow.appendChild(ui.root);
    document.body.appendChild(host);
    showIntro();
    if (attr("open", "") === "true") open();
  }

  var FULLSCREEN = window.matchMedia("(max-width: 480px)");

  /** On a phone the panel covers the page: Tab cycles inside it. */
  function trapFocus(e) {
    var items = Array.prototype.filter.call(
      ui.panel.querySelectorAll("button, textarea, a[href], [tabindex='0']"),
      function (el) { return !el.disabled && el.getClientRects().length > 0; }
    );
    if (!items.length) return;
    var active = ui.panel.getRootNode().activeElement;
    var first = items[0];
    var last = items[items.length - 1];
    if (e.shiftKey && (active === first || !ui.panel.contains(active))) {
      e.preventDefault();
      last.focus();
    } else if (!e.shiftKey && active === last) {
      e.preventDefault();
      first.focus();
    }
  }

  function autosize() {
    ui.input.style.height = "auto";
    ui.input.style.height = Math.min(ui.input.scrollHeight + 2, 140) + "px";
  }

  function say(text) {
    ui.status.textContent = "";
    setTimeout(function () { ui.status.textContent = text; }, 30);
  }

  /* ---------- open / close / new chat ---------- */

  function open() {
    ui.panel.hidden = false;
    ui.root.classList.add("open");
    ui.launcher.setAttribute("aria-expanded", "true");
    ui.input.focus();
    loadFooter();
  }

  function close() {
    ui.panel.hidden = true;
    ui.root.classList.remove("open");
    ui.launcher.setAttribute("aria-expanded", "false");
    ui.launcher.focus();
  }

  function toggle() {
    if (ui.panel.hidden) open();
    else close();
  }

  function showIntro() {
    var intro = h("div", { class: "intro" }, [
      h("p", { text: CODE
        ? "Ask anything about " + CODE_LABEL + ". Answers cite their sources."
        : "Ask about ICD-10-CM, ICD-10-PCS, CPT/HCPCS, modifiers and NCCI edits. Answers cite their sources." }),
      h("p", { class: "sr-only", text: "Suggested questions:" }),
      h("ul", { class: "starters", "aria-label": "Suggested questions" }, STARTERS.map(function (q) {
        return h("li", null, [h("button", { type: "button", text: q, onclick: function () { ask(q); } })]);
      })),
    ]);
    ui.intro = intro;
    ui.log.appendChild(intro);
  }

  function newChat() {
    state.generation++;
    if (state.controller) state.controller.abort();
    state.history = [];
    state.conversationId = null;
    state.answers = 0;
    clear(ui.log);
    clear(ui.announcer);
    showIntro();
    setBusy(false);
    ui.input.value = "";
    autosize();
    ui.input.focus();
    say("New chat started.");
  }

  function loadFooter() {
    if (state.footerLoaded) return;
    state.footerLoaded = true;
    fetch(API + "/readyz", { credentials: "omit", cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (j) { if (j) setFooter(j.code_sets || j.versions); })
      .catch(function () {});
  }

  function setFooter(sets) {
    if (!sets || typeof sets !== "object") return;
    function norm(x) { return String(x).toLowerCase().replace(/[^a-z0-9]/g, ""); }
    var parts = Object.keys(sets).slice(0, 8).map(function (k) {
      var v = String(sets[k] && typeof sets[k] === "object" ? sets[k].version || "" : sets[k] || "").slice(0, 80);
      // "icd10cm": "ICD-10-CM April 1, 2026" reads as the version alone; "icd10cm": "2026" needs its name.
      return !v ? String(k).slice(0, 40) : norm(v).indexOf(norm(k)) >= 0 ? v : String(k).slice(0, 40) + " " + v;
    });
    if (parts.length) ui.footerVersions.textContent = "Code sets: " + parts.join(" · ") + ". ";
  }

  /* ---------- messages ---------- */

  function addUser(text) {
    var el = h("div", { class: "msg user" }, [h("span", { class: "sr-only", text: "You: " }), h("div", { class: "bubble", text: text })]);
    ui.log.appendChild(el);
    scrollDown(true);
  }

  function addAssistant(question, history) {
    var msg = {
      question: question, history: history, text: "", cites: {}, codes: null, done: null,
      error: null, finished: false, spoken: 0, conversationId: null, index: null,
    };
    msg.body = h("div", { class: "body typing" });
    msg.list = h("ol", { hidden: true, "aria-label": "Sources" });
    msg.toggle = h("button", {
      type: "button", class: "toggle", "aria-expanded": "false", hidden: true,
      onclick: function () { showSources(msg, msg.list.hidden); },
    });
    msg.sources = h("div", { class: "sources" }, [msg.toggle, msg.list]);
    msg.extra = h("div");
    msg.bubble = h("div", { class: "bubble", "aria-busy": "true" }, [h("span", { class: "sr-only", text: "CasePilot: " }), msg.body, msg.sources, msg.extra]);
    msg.el = h("div", { class: "msg assistant", "data-state": "streaming" }, [msg.bubble]);
    ui.log.appendChild(msg.el);
    scrollDown(true);
    return msg;
  }

  function scrollDown(force) {
    var l = ui.log;
    if (force || l.scrollHeight - l.scrollTop - l.clientHeight < 80) l.scrollTop = l.scrollHeight;
  }

  function ctxOf(msg) {
    return { cites: msg.cites, codes: msg.codes, msg: msg };
  }

  function render(msg) {
    msg.pending = false;
    var stick = ui.log.scrollHeight - ui.log.scrollTop - ui.log.clientHeight < 80;
    clear(msg.body);
    renderMarkdown(msg.text, msg.body, ctxOf(msg));
    if (stick) scrollDown(true);
  }

  function scheduleRender(msg) {
    if (msg.pending) return;
    msg.pending = true;
    setTimeout(function () { if (msg.pending) render(msg); }, 40);
  }

  function citeMarker(n, ctx) {
    var c = ctx.cites && ctx.cites[n];
    if (!c) return document.createTextNode("[" + n + "]");
    return h("button", {
      type: "button", class: "cite", "data-n": String(n),
      "aria-label": "Source " + n + ": " + String(c.title || "").slice(0, 120),
      onclick: function () { focusSource(ctx.msg, n); },
    }, ["[" + n + "]"]);
  }

  function addCitation(msg, c) {
    var n = parseInt(c && c.n, 10);
    if (!n || n < 1 || n > 999) return;
    var fresh = !msg.cites[n];
    msg.cites[n] = c;
    var title = String(c.title || c.id || "Source " + n).slice(0, 300);
    var url = safeUrl(c.url);
    var meta = [c.source, c.kind].filter(function (x) { return x; }).map(function (x) { return String(x).slice(0, 200); }).join(" · ");
    var li = h("li", { value: String(n), tabindex: "-1", "data-n": String(n) }, [
      url ? link(url, title) : h("span", { class: "src-title", text: title }),
      meta ? h("div", { class: "src-meta", text: meta }) : null,
      c.snippet ? h("p", { class: "src-snippet", text: String(c.snippet).slice(0, 1200) }) : null,
    ]);
    if (url) li.firstChild.classList.add("src-title");
    var old = msg.list.querySelector('li[data-n="' + n + '"]');
    if (old) msg.list.replaceChild(li, old);
    else {
      var after = Array.prototype.filter.call(msg.list.children, function (x) { return parseInt(x.getAttribute("data-n"), 10) > n; })[0];
      msg.list.insertBefore(li, after || null);
    }
    updateToggle(msg);
    if (fresh && msg.text) scheduleRender(msg);
  }

  function updateToggle(msg) {
    var count = msg.list.children.length;
    msg.toggle.hidden = !count;
    msg.toggle.textContent = (msg.list.hidden ? "Show" : "Hide") + " sources (" + count + ")";
    msg.toggle.setAttribute("aria-expanded", msg.list.hidden ? "false" : "true");
  }

  function showSources(msg, show) {
    msg.list.hidden = !show;
    updateToggle(msg);
  }

  function focusSource(msg, n) {
    showSources(msg, true);
    var li = msg.list.querySelector('li[data-n="' + n + '"]');
    if (!li) return;
    Array.prototype.forEach.call(msg.list.children, function (x) { x.classList.remove("flash"); });
    li.classList.add("flash");
    li.scrollIntoView({ block: "nearest" });
    li.focus();
  }

  function announce(msg, final) {
    var plain = plainText(msg.text);
    var end = plain.length;
    if (!final) {
      var re = /[.!?](\s|$)/g;
      var m;
      end = -1;
      while ((m = re.exec(plain))) if (m.index + 1 > msg.spoken) end = m.index + 1;
      if (end < 0) return;
    }
    var chunk = plain.slice(msg.spoken, end).trim();
    msg.spoken = Math.max(msg.spoken, end);
    if (chunk) ui.announcer.appendChild(h("p", { text: chunk }));
  }

  function setState(msg, s) {
    msg.el.setAttribute("data-state", s);
    msg.body.classList.remove("typing");
    msg.bubble.setAttribute("aria-busy", "false");
  }

  function finish(msg) {
    setState(msg, "done");
    render(msg);
    announce(msg, true);
    var codes = (msg.done && Array.isArray(msg.done.codes)) ? msg.done.codes.filter(function (c) { return c && typeof c === "object"; }) : [];
    if (codes.length) {
      msg.extra.appendChild(h("ul", { class: "codes", "aria-label": "Codes in this answer" }, codes.slice(0, 30).map(codeListItem)));
    }
    if (msg.done && msg.done.verdict && msg.done.verdict.kind === "coverage") msg.extra.appendChild(coverageCard(msg.done.verdict));
    var notices = (msg.done && Array.isArray(msg.done.notices)) ? msg.done.notices : [];
    notices.slice(0, 5).forEach(function (n) {
      msg.extra.appendChild(h("p", { class: "note", text: String(typeof n === "object" ? n.message || "" : n).slice(0, 500) }));
    });
    msg.index = state.answers++;
    var up, down;
    function rate(rating, btn, other) {
      btn.setAttribute("aria-pressed", "true");
      other.setAttribute("aria-pressed", "false");
      sendFeedback(msg, rating);
    }
    up = h("button", { type: "button", class: "up", "aria-pressed": "false", "aria-label": "Helpful", title: "Helpful", onclick: function () { rate("up", up, down); } }, [svg(THUMB_UP)]);
    down = h("button", { type: "button", class: "down", "aria-pressed": "false", "aria-label": "Not helpful", title: "Not helpful", onclick: function () { rate("down", down, up); } }, [svg(THUMB_DOWN)]);
    msg.extra.appendChild(h("div", { class: "actions" }, [
      h("button", { type: "button", class: "copy", text: "Copy answer", onclick: function () { copyAnswer(msg); } }),
      up, down,
    ]));
  }

  /**
   * The coverage verdict card (done.verdict of kind "coverage", computed by the server from the MCD tables):
   * verdict, article(s) with version, dates and jurisdiction, and the table rows behind it. Text only.
   */
  function coverageCard(v) {
    function str(x, n) { return String(x == null ? "" : x).slice(0, n || 300); }
    var arts = (Array.isArray(v.articles) ? v.articles : []).slice(0, 3);
    var others = (Array.isArray(v.other_articles) ? v.other_articles : []).slice(0, 3);
    var rows = (Array.isArray(v.rows) ? v.rows : []).slice(0, 8);
    var kids = [];
    var title = "Medicare coverage";
    if (v.type === "check") title += ": " + str(v.code, 10) + " with " + str(v.dx, 10);
    else if (v.type === "crosswalk") title += ": crosswalk for " + str(v.code, 10);
    else if (v.type === "ncd" && v.ncd) title = "NCD " + str(v.ncd.section, 20) + " " + str(v.ncd.title, 160);
    else if (v.type === "not_loaded") title = "Medicare Coverage Database not loaded";
    kids.push(h("h3", { text: title }));
    if (v.verdict_label) kids.push(h("p", null, [h("span", { class: "verdict", text: str(v.verdict_label, 20) }), v.jurisdiction ? " in " + str(v.jurisdiction, 60) : ""]));
    if (v.reason) kids.push(h("p", { class: "reason", text: str(v.reason, 600) }));
    if (v.type === "ncd" && v.ncd) {
      kids.push(h("p", { class: "dates", text: "Effective " + str(v.ncd.effective || "n/a", 12) + (v.ncd.terminated ? ", terminated " + str(v.ncd.terminated, 12) : "") + "; " + str(v.ncd.status_text, 120) + "; " + str(v.ncd.coverage_level_text, 120) }));
    }
    if (v.type === "not_loaded" || (!arts.length && v.type !== "ncd")) kids.push(h("p", { text: str(v.message, 600) }));
    if (arts.length) {
      kids.push(h("ul", { class: "articles", "aria-label": "Articles" }, arts.map(function (a) {
        var macs = (Array.isArray(a.contractors) ? a.contractors : []).map(function (c) { return str(c.name, 80) + (c.number ? " (" + str(c.number, 8) + ")" : ""); }).join("; ");
        var where = a.jurisdiction_known ? (macs || "contractor not listed") + (a.states && a.states.length ? ", states " + a.states.slice(0, 12).join(", ") : "") : "jurisdiction not in the loaded files";
        return h("li", { "data-id": str(a.public_id, 10) }, [
          link(a.url, str(a.public_id, 10) + " v" + str(a.version, 6)), " " + str(a.title, 200) + ". ",
          h("span", { class: "dates", text: str(a.status_text, 120) + (a.end ? ", end " + str(a.end, 12) : "") + ". " }),
          h("span", { class: "where", text: where }),
        ]);
      })));
    }
    if (others.length) {
      kids.push(h("p", { class: "others", text: "Not the answer here: " + others.map(function (a) { return str(a.public_id, 10) + " (" + (a.in_jurisdiction === false && a.current ? "another jurisdiction" : str(a.status_text, 80)) + ")"; }).join("; ") }));
    }
    if (rows.length) {
      kids.push(h("details", { class: "rows" }, [h("summary", { text: "Rows behind it (" + rows.length + ")" }),
        h("ul", null, rows.map(function (r) { return h("li", { text: str(r.table, 60) + (r.line ? " line " + str(r.line, 8) : "") + ": " + str(r.row, 400) }); }))]));
    }
    var cls = "cov" + (v.verdict ? " " + String(v.verdict).replace(/[^a-z_]/g, "") : "");
    return h("section", { class: cls, role: "region", "aria-label": "Coverage verdict" }, kids);
  }

  /** One code of the done event in the list under the answer, with the server's verdict spelled out. */
  function codeListItem(c) {
    var v = verdict(c);
    var ok = c.verified === true && c.supported !== false;
    var label = (ok ? "\u2713 " : "\u26a0 ") + String(c.code || "").slice(0, 20) + (c.system ? " (" + String(c.system).slice(0, 20) + ")" : "");
    var kids = [label];
    v.marks.forEach(function (m) { kids.push(" ", h("span", { class: m.class, text: m.text })); });
    return h("li", { class: v.classes.join(" "), title: v.titles.join("; ") }, kids);
  }

  function copyText(msg) {
    var out = plainText(msg.text).replace(/\n{3,}/g, "\n\n").trim();
    var ns = Object.keys(msg.cites).map(Number).sort(function (a, b) { return a - b; });
    if (ns.length) {
      out = msg.text.trim() + "\n\nSources:\n" + ns.map(function (n) {
        var c = msg.cites[n];
        return "[" + n + "] " + (c.title || "") + (c.source ? " (" + c.source + ")" : "") + (safeUrl(c.url) ? " " + safeUrl(c.url) : "");
      }).join("\n");
    }
    return out;
  }

  function copyAnswer(msg) {
    var text = copyText(msg);
    function fallback() {
      var ta = h("textarea", { class: "sr-only", "aria-hidden": "true" });
      ta.value = text;
      ui.root.appendChild(ta);
      ta.select();
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      ui.root.removeChild(ta);
      say(ok ? "Answer copied." : "Copy failed: select the text and copy it.");
    }
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).then(function () { say("Answer copied."); }, fallback);
    } else fallback();
  }

  function headers() {
    var hd = { "Content-Type": "application/json" };
    if (KEY) hd["X-CasePilot-Key"] = KEY;
    return hd;
  }

  function sendFeedback(msg, rating) {
    var body = { conversation_id: msg.conversationId || state.conversationId || "unknown", rating: rating, message_index: msg.index };
    fetch(API + "/v1/feedback", { method: "POST", headers: headers(), body: JSON.stringify(body), credentials: "omit", cache: "no-store" })
      .then(function (r) { say(r.ok ? "Thanks for the feedback." : "Feedback could not be sent."); })
      .catch(function () { say("Feedback could not be sent."); });
  }

  /* ---------- asking and streaming ---------- */

  function setBusy(b) {
    state.busy = b;
    ui.send.disabled = b;
    ui.send.hidden = b;
    ui.stop.hidden = !b;
    ui.log.setAttribute("aria-busy", b ? "true" : "false");
  }

  function submit() {
    var q = ui.input.value.trim();
    if (!q || state.busy) return;
    ui.input.value = "";
    autosize();
    ask(q);
  }

  function contextTurns() {
    return CODE ? [{ role: "user", content: "My question is about " + CODE_LABEL + "." }] : [];
  }

  function ask(question) {
    question = String(question).trim().slice(0, MAX_CHARS);
    if (!question || state.busy) return;
    if (ui.intro && ui.intro.parentNode) ui.intro.parentNode.removeChild(ui.intro);
    if (ui.panel.hidden) open();
    addUser(question);
    var history = contextTurns().concat(state.history.slice(-MAX_TURNS)).map(function (t) {
      return { role: t.role, content: String(t.content).slice(0, MAX_CHARS) };
    });
    clear(ui.announcer);
    run(addAssistant(question, history));
    ui.input.focus();
  }

  function stop() {
    ui.input.focus();
    if (state.controller) state.controller.abort();
  }

  function remember(msg) {
    state.history.push({ role: "user", content: msg.question });
    if (msg.text) state.history.push({ role: "assistant", content: msg.text });
  }

  function handle(msg, ev, raw) {
    var d;
    try { d = JSON.parse(raw); } catch (e) { return; }
    if (!d || typeof d !== "object") return;
    if (ev === "meta") {
      if (typeof d.conversation_id === "string") {
        msg.conversationId = d.conversation_id;
        if (!state.conversationId) state.conversationId = d.conversation_id;
      }
      setFooter(d.code_sets);
    } else if (ev === "citation") {
      addCitation(msg, d);
    } else if (ev === "token") {
      if (typeof d.text !== "string") return;
      msg.text += d.text;
      scheduleRender(msg);
      announce(msg, false);
    } else if (ev === "done") {
      msg.done = d;
      if (typeof d.answer === "string") msg.text = d.answer;
      if (typeof d.conversation_id === "string" && !msg.conversationId) msg.conversationId = d.conversation_id;
      (Array.isArray(d.citations) ? d.citations : []).forEach(function (c) {
        if (c && !msg.cites[c.n]) addCitation(msg, c);
      });
      msg.codes = {};
      (Array.isArray(d.codes) ? d.codes : []).forEach(function (c) {
        if (c && c.code) msg.codes[String(c.code).toUpperCase()] = c;
      });
      msg.finished = true;
    } else if (ev === "error") {
      msg.error = { code: String(d.code || "error"), message: String(d.message || "The answer failed.") };
    }
  }

  async function readSSE(body, onEvent, onBytes) {
    var reader = body.getReader();
    var dec = new TextDecoder();
    var buf = "";
    var ev = "message";
    var data = [];
    function line(l) {
      if (l === "") {
        if (data.length) onEvent(ev, data.join("\n"));
        ev = "message";
        data = [];
        return;
      }
      if (l.charAt(0) === ":") return;
      var c = l.indexOf(":");
      var field = c < 0 ? l : l.slice(0, c);
      var val = c < 0 ? "" : l.slice(c + 1);
      if (val.charAt(0) === " ") val = val.slice(1);
      if (field === "event") ev = val;
      else if (field === "data") data.push(val);
    }
    for (;;) {
      var r = await reader.read();
      if (r.done) break;
      onBytes();
      buf += dec.decode(r.value, { stream: true });
      var m;
      while ((m = /\r\n|\r|\n/.exec(buf))) {
        if (m[0] === "\r" && m.index === buf.length - 1) break; // a \n may follow in the next chunk
        line(buf.slice(0, m.index));
        buf = buf.slice(m.index + m[0].length);
      }
    }
    buf += dec.decode();
    if (buf) line(buf);
    line("");
  }

  async function httpError(res) {
    var code = "http_" + res.status;
    var message = "";
    try {
      var j = await res.json();
      var e = j && (j.error || j);
      if (e && typeof e.code === "string") code = e.code;
      if (e && typeof e.message === "string") message = e.message;
      else if (j && typeof j.detail === "string") message = j.detail;
      else if (j && Array.isArray(j.detail) && j.detail[0] && j.detail[0].msg) message = String(j.detail[0].msg);
    } catch (x) { /* not JSON */ }
    if (res.status === 401 || res.status === 403) {
      message = message || "This site is not allowed to use this CasePilot server.";
    } else if (res.status === 429 && code === "quota_exceeded") {
      message = "This site has used today's questions. They start again at midnight UTC.";
    } else if (res.status === 429) {
      var wait = parseInt(res.headers.get("Retry-After") || "", 10);
      message = "Too many questions at once." + (wait ? " Try again in " + wait + " s." : " Try again shortly.");
    } else if (res.status >= 500) {
      message = message || "The CasePilot server had a problem.";
    }
    return { code: code, message: message || "The request failed (HTTP " + res.status + ")." };
  }

  function chatBody(msg) {
    var b = { message: msg.question, history: msg.history, stream: true };
    if (state.conversationId && /^[A-Za-z0-9_-]{1,64}$/.test(state.conversationId)) b.conversation_id = state.conversationId;
    return b;
  }

  async function run(msg) {
    var gen = state.generation;
    var ctrl = new AbortController();
    var timedOut = false;
    var idle;
    function kick() {
      clearTimeout(idle);
      idle = setTimeout(function () { timedOut = true; ctrl.abort(); }, IDLE_MS);
    }
    state.controller = ctrl;
    setBusy(true);
    say("CasePilot is answering.");
    kick();
    try {
      var res = await fetch(API + "/v1/chat", {
        method: "POST",
        headers: Object.assign(headers(), { Accept: "text/event-stream" }),
        body: JSON.stringify(chatBody(msg)),
        signal: ctrl.signal,
        credentials: "omit",
        cache: "no-store",
      });
      if (!res.ok) throw await httpError(res);
      var ct = res.headers.get("content-type") || "";
      if (ct.indexOf("text/event-stream") >= 0 && res.body) {
        await readSSE(res.body, function (ev, data) {
          if (gen === state.generation) handle(msg, ev, data);
        }, kick); // pings count as life
      } else {
        var j = await res.json();
        handle(msg, "done", JSON.stringify(j));
      }
      if (gen !== state.generation) return;
      if (msg.error) throw msg.error;
      if (!msg.finished) throw { code: "incomplete", message: "The answer was cut off before it finished." };
      remember(msg);
      finish(msg);
    } catch (e) {
      if (gen !== state.generation) return;
      if (ctrl.signal.aborted && !timedOut) stopped(msg);
      else if (timedOut) fail(msg, { code: "timeout", message: "The server stopped responding." });
      else if (e && typeof e.message === "string" && typeof e.code === "string") fail(msg, e);
      else fail(msg, { code: "network", message: "Could not reach CasePilot. Check your connection; if this keeps happening, this site may not be allowed to use this CasePilot server." });
    } finally {
      clearTimeout(idle);
      if (gen === state.generation) {
        state.controller = null;
        setBusy(false);
      }
    }
  }

  function stopped(msg) {
    setState(msg, "stopped");
    render(msg);
    remember(msg);
    msg.extra.appendChild(h("p", { class: "note", text: "Stopped." }));
    say("Stopped.");
  }

  function fail(msg, err) {
    setState(msg, "error");
    if (msg.text) render(msg);
    var box = h("div", { class: "error", role: "alert" }, [
      h("p", { text: err.message.slice(0, 300) + (err.code ? " (" + err.code.slice(0, 40) + ")" : "") }),
      h("button", {
        type: "button", class: "retry", text: "Retry",
        onclick: function () {
          if (state.busy) return;
          msg.el.parentNode.removeChild(msg.el);
          clear(ui.announcer);
          run(addAssistant(msg.question, msg.history));
          ui.input.focus();
        },
      }),
    ]);
    msg.extra.appendChild(box);
    scrollDown(true);
  }

  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount, { once: true });
})();
