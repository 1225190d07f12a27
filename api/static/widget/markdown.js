// The safe Markdown subset answers use, built with DOM APIs so a model's text can format but never inject markup; and its code chips.

import { answerLink, h } from "./dom.js";

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
    "(\\[unverified code\\])", // 11 verification mark (casepilot/verify.py UNVERIFIED_MARK)
    "(\\*(?=\\S)[^*\\n]*?\\S\\*)", // 12 italic
  ].join("|"),
  "g"
);

/* ---------- codes: the server's verdicts ---------- */

/**
 * The server's verdict on one entry of the done event's ``codes``: chip classes, a title and the marks to show.
 * Only ``verified: true`` reads as verified; ``supported`` absent or null (older servers) adds no mark.
 */
export function verdict(c) {
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

// The one code regex left, for the time before the done event. Until then the server has said nothing about
// the answer's codes, so a code-shaped token is drawn "unchecked" (neutral, dashed): neither plain text nor
// a checked code. It is a hint, never a verdict: once the done event arrives only its ``codes`` list makes a
// chip (codeIndex), so a token this shape misses or adds changes that neutral style only, and only while the
// answer streams (or when it never completes). Its shapes are casepilot/codes.py's _TEXT_CODE in capitals:
// dotted ICD-10-CM, CPT (5 digits, or 4 and F/T/U), HCPCS Level II, and 7-character ICD-10-PCS with a
// digit and a letter (so "WARNING" and a 7-digit number are not codes).
var UNCHECKED_SHAPE = /\b(?:[A-Z]\d[0-9A-Z]\.[0-9A-Z]{1,4}|\d{4}[0-9FTU]|[A-V]\d{4}|[0-9A-HJ-NP-Z]{7})\b/g;

function uncheckedCodes(text) {
  var out = [];
  var m;
  UNCHECKED_SHAPE.lastIndex = 0;
  while ((m = UNCHECKED_SHAPE.exec(text))) {
    var t = m[0];
    if (t.length === 7 && t.indexOf(".") < 0 && !(/\d/.test(t) && /[A-Z]/.test(t))) continue;
    out.push({ at: m.index, tok: t, v: UNCHECKED });
  }
  return out;
}

var CODE_TEXT = /^[0-9A-Z][0-9A-Z.\-]{2,15}$/;

/**
 * The done event's ``codes`` as a matcher: each code as the server wrote it and, for a dotted code, undotted
 * (the server reads E1122 as E11.22), in any case (as the server reads them), standing alone (not inside a
 * longer word). Two-character entries (modifiers: 25, XS) get no chip in the text, where the same characters
 * are often an ordinary number or word; the list under the answer shows them.
 */
export function codeIndex(list) {
  var lookup = {};
  (Array.isArray(list) ? list : []).slice(0, 300).forEach(function (c) {
    if (!c || typeof c !== "object" || typeof c.code !== "string") return;
    var code = c.code.toUpperCase();
    [code, code.replace(/\./g, "")].forEach(function (k) {
      if (CODE_TEXT.test(k) && !lookup[k]) lookup[k] = c;
    });
  });
  var keys = Object.keys(lookup).sort(function (a, b) { return b.length - a.length; });
  var pattern = keys.length
    ? new RegExp("(?:" + keys.map(function (k) { return k.replace(/[.\-]/g, "\\$&"); }).join("|") + ")(?![A-Za-z0-9]|\\.[A-Za-z0-9])", "gi")
    : null;
  return { lookup: lookup, pattern: pattern };
}

function listedCodes(text, index) {
  var re = index.pattern;
  var out = [];
  if (!re) return out;
  var m;
  re.lastIndex = 0;
  while ((m = re.exec(text))) {
    // No lookbehind (older Safari cannot parse one): a match glued to a letter or digit before it is skipped.
    if (m.index > 0 && /[A-Za-z0-9]/.test(text.charAt(m.index - 1))) {
      re.lastIndex = m.index + 1;
      continue;
    }
    out.push({ at: m.index, tok: m[0], v: verdict(index.lookup[m[0].toUpperCase()]) });
  }
  return out;
}

/** A code in the answer's text as a chip styled by the server's verdict; unchecked while the answer streams. */
function codeChip(tok, v, ctx) {
  var span = h("span", { class: "code " + v.classes.join(" "), title: v.titles.join("; ") }, [tok]);
  var marked = String(ctx.text).indexOf(tok + " [unverified code]") >= 0;
  if (v.classes.indexOf("unverified") >= 0 && !marked) span.appendChild(h("span", { class: "badge", text: " unverified" }));
  return span;
}

/* ---------- rendering ---------- */

/**
 * ``ctx``: ``text`` (the whole answer), ``codes`` (codeIndex of the done event's list, or null before it),
 * ``base`` (the API, for relative links) and ``cite(n)`` (the node for a citation marker).
 */
function renderText(text, parent, ctx) {
  var last = 0;
  // Before the done event only the shape is known; after it only the server's list makes a chip.
  var found = ctx.codes ? listedCodes(text, ctx.codes) : uncheckedCodes(text);
  found.forEach(function (f) {
    if (f.at > last) parent.appendChild(document.createTextNode(text.slice(last, f.at)));
    parent.appendChild(codeChip(f.tok, f.v, ctx));
    last = f.at + f.tok.length;
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
    } else if (m[6]) answerLink(parent, m[8], m[7], ctx.base);
    else if (m[9]) parent.appendChild(ctx.cite(parseInt(m[10], 10)));
    else if (m[11]) parent.appendChild(h("span", { class: "badge unverified-mark", text: "unverified code" }));
    else if (m[12]) {
      var i = h("em");
      renderInline(m[12].slice(1, -1), i, ctx);
      parent.appendChild(i);
    }
  });
  if (last < text.length) renderText(text.slice(last), parent, ctx);
}

/** ``src`` rendered into ``root``: paragraphs, headings (as bold paragraphs), lists, code blocks, quotes as text. */
export function renderMarkdown(src, root, ctx) {
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
export function plainText(src) {
  var parts = String(src)
    .replace(new RegExp(IMAGE, "g"), "$1")
    .replace(new RegExp(LINK, "g"), "$1")
    .split(/\[\d{1,3}\]/);
  // trimEnd, not /\s*\[n\]/: that regex rescans a long run of spaces from each of its positions.
  return parts.map(function (p, i) { return i < parts.length - 1 ? p.trimEnd() : p; }).join("").replace(/[*`#>]/g, "");
}
