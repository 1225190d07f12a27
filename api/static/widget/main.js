// The entry module the /widget.js loader imports: start() wires settings, state and view together and runs the chat (fetch, SSE, errors).

import { IDLE_MS, loadLimits, readConfig } from "./config.js";
import { codeIndex } from "./markdown.js";
import { readSSE } from "./sse.js";
import { chatBody, createState, requestHistory } from "./state.js";
import { createView } from "./view.js";

/**
 * One widget on this page. ``options.data``: the loader's data-* attributes (name without "data-" to value);
 * ``options.src``: the loader's URL (data-api defaults to its origin). Each call is a widget of its own.
 */
export function start(options) {
  var cfg = readConfig(options && options.data, options && options.src);
  if (!cfg) return;
  var state = createState();
  var view = createView(cfg, state, {
    ask: ask, submit: submit, stop: stop, newChat: newChat, retry: retry, feedback: sendFeedback, opened: loadFooter,
  });
  loadLimits(cfg.api).then(function (limits) {
    state.limits = limits;
    view.applyLimits();
  });
  if (document.body) view.mount();
  else document.addEventListener("DOMContentLoaded", view.mount, { once: true });

  function headers() {
    var hd = { "Content-Type": "application/json" };
    if (cfg.key) hd["X-CasePilot-Key"] = cfg.key;
    return hd;
  }

  function sendFeedback(msg, rating) {
    var body = { conversation_id: msg.conversationId || state.conversationId || "unknown", rating: rating, message_index: msg.index };
    fetch(cfg.api + "/v1/feedback", { method: "POST", headers: headers(), body: JSON.stringify(body), credentials: "omit", cache: "no-store" })
      .then(function (r) { view.say(r.ok ? "Thanks for the feedback." : "Feedback could not be sent."); })
      .catch(function () { view.say("Feedback could not be sent."); });
  }

  /** The footer's code-set versions, once, when the panel first opens (the stream's meta event refreshes them). */
  function loadFooter() {
    if (state.footerLoaded) return;
    state.footerLoaded = true;
    fetch(cfg.api + "/readyz", { credentials: "omit", cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (j) { if (j) view.setFooter(j.code_sets || j.versions); })
      .catch(function () {});
  }

  /* ---------- asking and streaming ---------- */

  function submit() {
    var q = view.takeInput();
    if (q) ask(q);
  }

  function contextTurns() {
    return cfg.code ? [{ role: "user", content: "My question is about " + cfg.codeLabel + "." }] : [];
  }

  function ask(question) {
    question = String(question).trim().slice(0, state.limits.maxMessageChars);
    if (!question || state.busy) return;
    view.beginQuestion();
    view.addUser(question);
    var history = requestHistory(contextTurns(), state.history, question, state.limits);
    view.clearAnnouncer();
    run(view.addAssistant(question, history));
    view.focusInput();
  }

  function retry(msg) {
    if (state.busy) return;
    view.removeMessage(msg);
    view.clearAnnouncer();
    run(view.addAssistant(msg.question, msg.history));
    view.focusInput();
  }

  function stop() {
    view.focusInput();
    if (state.controller) state.controller.abort();
  }

  function newChat() {
    state.generation++;
    if (state.controller) state.controller.abort();
    state.history = [];
    state.conversationId = null;
    state.answers = 0;
    view.reset();
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
      view.setFooter(d.code_sets);
    } else if (ev === "citation") {
      view.addCitation(msg, d);
    } else if (ev === "token") {
      if (typeof d.text !== "string") return;
      msg.text += d.text;
      view.scheduleRender(msg);
      view.announce(msg, false);
    } else if (ev === "done") {
      msg.done = d;
      if (typeof d.answer === "string") msg.text = d.answer;
      if (typeof d.conversation_id === "string" && !msg.conversationId) msg.conversationId = d.conversation_id;
      (Array.isArray(d.citations) ? d.citations : []).forEach(function (c) {
        if (c && !msg.cites[c.n]) view.addCitation(msg, c);
      });
      msg.codes = codeIndex(d.codes); // from now on only the server's list marks codes in the text
      msg.finished = true;
    } else if (ev === "error") {
      msg.error = { code: String(d.code || "error"), message: String(d.message || "The answer failed.") };
    }
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
    view.setBusy(true);
    view.say("CasePilot is answering.");
    kick();
    try {
      var res = await fetch(cfg.api + "/v1/chat", {
        method: "POST",
        headers: Object.assign(headers(), { Accept: "text/event-stream" }),
        body: JSON.stringify(chatBody(msg.question, msg.history, state.conversationId)),
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
      view.finish(msg);
    } catch (e) {
      if (gen !== state.generation) return;
      if (ctrl.signal.aborted && !timedOut) {
        view.stopped(msg);
        remember(msg);
      } else if (timedOut) view.fail(msg, { code: "timeout", message: "The server stopped responding." });
      else if (e && typeof e.message === "string" && typeof e.code === "string") view.fail(msg, e);
      else view.fail(msg, { code: "network", message: "Could not reach CasePilot. Check your connection; if this keeps happening, this site may not be allowed to use this CasePilot server." });
    } finally {
      clearTimeout(idle);
      if (gen === state.generation) {
        state.controller = null;
        view.setBusy(false);
      }
    }
  }
}
