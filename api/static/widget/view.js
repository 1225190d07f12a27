// What the user sees (launcher, panel, messages, sources, codes, coverage card, footer), apart from what the chat does (main.js).

import { CHAT_BUBBLE, THUMB_DOWN, THUMB_UP, clear, h, link, safeUrl, svg } from "./dom.js";
import { plainText, renderMarkdown, verdict } from "./markdown.js";
import { CSS } from "./styles.js";

/**
 * The widget's DOM for one embed. ``cfg`` is config.readConfig's, ``state`` state.createState's; ``actions``
 * are main.js's: ask(question), submit(), stop(), newChat(), retry(msg), feedback(msg, rating), opened().
 */
export function createView(cfg, state, actions) {
  var ui = {};
  var FULLSCREEN = window.matchMedia("(max-width: 480px)");

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

    var launchText = cfg.code ? "Have a question about " + cfg.codeLabel + "?" : "Ask " + cfg.title;
    ui.launcher = h("button", {
      class: "launcher", type: "button", "aria-expanded": "false", "aria-controls": "cp-panel",
      "aria-label": launchText, onclick: function () { toggle(); },
    }, [svg(CHAT_BUBBLE), h("span", { text: launchText })]);

    ui.log = h("div", { class: "log", id: "cp-log", role: "log", "aria-live": "off", "aria-label": "Conversation", tabindex: "-1" });
    ui.input = h("textarea", {
      id: "cp-input", rows: "1", maxlength: String(state.limits.maxMessageChars), autocomplete: "off",
      placeholder: cfg.code ? "Ask about " + cfg.codeLabel + "…" : "Ask a coding question…",
      onkeydown: function (e) {
        if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
          e.preventDefault();
          actions.submit();
        }
      },
      oninput: autosize,
    });
    ui.send = h("button", { type: "submit", class: "send", text: "Send" });
    ui.stop = h("button", { type: "button", class: "stop", hidden: true, text: "Stop", "aria-label": "Stop answering", onclick: function () { actions.stop(); } });
    ui.form = h("form", {
      "aria-label": "Ask CasePilot",
      onsubmit: function (e) { e.preventDefault(); actions.submit(); },
    }, [h("label", { class: "sr-only", for: "cp-input", text: "Your question" }), ui.input, ui.send, ui.stop]);
    ui.footerVersions = h("span", { text: "" });
    ui.footer = h("footer", null, [ui.footerVersions, h("span", { text: "Check answers against the cited sources before billing." })]);
    ui.announcer = h("div", { class: "sr-only", "aria-live": "polite", "aria-atomic": "false", id: "cp-live" });
    ui.status = h("div", { class: "sr-only", role: "status", "aria-live": "polite", id: "cp-status" });
    ui.title = h("h2", { id: "cp-title" }, [cfg.title, cfg.code ? h("span", { class: "ctx", text: "About " + cfg.codeLabel }) : null]);
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
        h("button", { type: "button", class: "new", text: "New chat", onclick: function () { actions.newChat(); } }),
        h("button", { type: "button", class: "close", "aria-label": "Close chat", title: "Close", text: "\u00d7", onclick: close }),
      ]),
      ui.log, ui.announcer, ui.status, ui.form, ui.footer,
    ]);
    ui.root = h("div", { class: "root" + (cfg.left ? " left" : "") }, [ui.panel, ui.launcher]);
    shadow.appendChild(ui.root);
    document.body.appendChild(host);
    showIntro();
    if (cfg.open) open();
  }

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

  /** The polite status line for screen readers (emptied first, so the same words are read again). */
  function say(text) {
    ui.status.textContent = "";
    setTimeout(function () { ui.status.textContent = text; }, 30);
  }

  /** The server's limits arrived: the question box takes no more than the server accepts. */
  function applyLimits() {
    if (ui.input) ui.input.setAttribute("maxlength", String(state.limits.maxMessageChars));
  }

  /* ---------- open / close / new chat ---------- */

  function open() {
    ui.panel.hidden = false;
    ui.root.classList.add("open");
    ui.launcher.setAttribute("aria-expanded", "true");
    ui.input.focus();
    actions.opened();
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
      h("p", { text: cfg.code
        ? "Ask anything about " + cfg.codeLabel + ". Answers cite their sources."
        : "Ask about ICD-10-CM, ICD-10-PCS, CPT/HCPCS, modifiers and NCCI edits. Answers cite their sources." }),
      h("p", { class: "sr-only", text: "Suggested questions:" }),
      h("ul", { class: "starters", "aria-label": "Suggested questions" }, cfg.starters.map(function (q) {
        return h("li", null, [h("button", { type: "button", text: q, onclick: function () { actions.ask(q); } })]);
      })),
    ]);
    ui.intro = intro;
    ui.log.appendChild(intro);
  }

  /** Before a question: the intro goes and the panel opens. */
  function beginQuestion() {
    if (ui.intro && ui.intro.parentNode) ui.intro.parentNode.removeChild(ui.intro);
    if (ui.panel.hidden) open();
  }

  /** The question box's text, emptied (null when the widget is answering or the box is blank). */
  function takeInput() {
    var q = ui.input.value.trim();
    if (!q || state.busy) return null;
    ui.input.value = "";
    autosize();
    return q;
  }

  function focusInput() {
    ui.input.focus();
  }

  function clearAnnouncer() {
    clear(ui.announcer);
  }

  /** "New chat": the log, the live region and the question box emptied, the starters shown again. */
  function reset() {
    clear(ui.log);
    clear(ui.announcer);
    showIntro();
    setBusy(false);
    ui.input.value = "";
    autosize();
    ui.input.focus();
    say("New chat started.");
  }

  function setBusy(b) {
    state.busy = b;
    ui.send.disabled = b;
    ui.send.hidden = b;
    ui.stop.hidden = !b;
    ui.log.setAttribute("aria-busy", b ? "true" : "false");
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

  /** A new answer bubble, streaming; the returned message object is what main.js fills from the events. */
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

  function removeMessage(msg) {
    msg.el.parentNode.removeChild(msg.el);
  }

  function scrollDown(force) {
    var l = ui.log;
    if (force || l.scrollHeight - l.scrollTop - l.clientHeight < 80) l.scrollTop = l.scrollHeight;
  }

  function ctxOf(msg) {
    return { text: msg.text, codes: msg.codes, base: cfg.api, cite: function (n) { return citeMarker(n, msg); } };
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

  function citeMarker(n, msg) {
    var c = msg.cites[n];
    if (!c) return document.createTextNode("[" + n + "]");
    return h("button", {
      type: "button", class: "cite", "data-n": String(n),
      "aria-label": "Source " + n + ": " + String(c.title || "").slice(0, 120),
      onclick: function () { focusSource(msg, n); },
    }, ["[" + n + "]"]);
  }

  function addCitation(msg, c) {
    var n = parseInt(c && c.n, 10);
    if (!n || n < 1 || n > 999) return;
    var fresh = !msg.cites[n];
    msg.cites[n] = c;
    var title = String(c.title || c.id || "Source " + n).slice(0, 300);
    var url = safeUrl(c.url, cfg.api);
    var meta = [c.source, c.kind].filter(function (x) { return x; }).map(function (x) { return String(x).slice(0, 200); }).join(" · ");
    var li = h("li", { value: String(n), tabindex: "-1", "data-n": String(n) }, [
      url ? link(url, title, cfg.api) : h("span", { class: "src-title", text: title }),
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

  /** The answer for screen readers, a finished sentence at a time while it streams (all of it when ``final``). */
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

  /** A complete answer: its chips by the server's verdicts, the codes list, a coverage card, notices, actions. */
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
      actions.feedback(msg, rating);
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
          link(a.url, str(a.public_id, 10) + " v" + str(a.version, 6), cfg.api), " " + str(a.title, 200) + ". ",
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
        var url = safeUrl(c.url, cfg.api);
        return "[" + n + "] " + (c.title || "") + (c.source ? " (" + c.source + ")" : "") + (url ? " " + url : "");
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

  /* ---------- how an answer ends other than done ---------- */

  function stopped(msg) {
    setState(msg, "stopped");
    render(msg);
    msg.extra.appendChild(h("p", { class: "note", text: "Stopped." }));
    say("Stopped.");
  }

  function fail(msg, err) {
    setState(msg, "error");
    if (msg.text) render(msg);
    var box = h("div", { class: "error", role: "alert" }, [
      h("p", { text: err.message.slice(0, 300) + (err.code ? " (" + err.code.slice(0, 40) + ")" : "") }),
      h("button", { type: "button", class: "retry", text: "Retry", onclick: function () { actions.retry(msg); } }),
    ]);
    msg.extra.appendChild(box);
    scrollDown(true);
  }

  return {
    mount: mount, say: say, applyLimits: applyLimits, beginQuestion: beginQuestion, takeInput: takeInput,
    focusInput: focusInput, clearAnnouncer: clearAnnouncer, reset: reset, setBusy: setBusy, setFooter: setFooter,
    addUser: addUser, addAssistant: addAssistant, removeMessage: removeMessage, scheduleRender: scheduleRender,
    addCitation: addCitation, announce: announce, finish: finish, stopped: stopped, fail: fail,
  };
}
