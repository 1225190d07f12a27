// A conversation's state (in memory for the page visit, one per widget) and the chat requests it makes, kept within the server's limits.

import { DEFAULT_LIMITS } from "./config.js";

export function createState() {
  return {
    history: [], // [{role, content}] of the answered turns
    busy: false,
    controller: null, // the AbortController of the answer in flight
    conversationId: null,
    answers: 0, // answers shown, for feedback's message_index
    generation: 0, // bumped by "new chat": events of an older conversation are dropped
    footerLoaded: false,
    limits: Object.assign({}, DEFAULT_LIMITS), // replaced by the server's (config.loadLimits)
  };
}

var encoder = new TextEncoder();

function bytes(value) {
  return encoder.encode(JSON.stringify(value)).length;
}

/**
 * The history to send with ``question``: the ``context`` turns (the page's data-code) first, then the latest
 * ``past`` turns, at most ``limits.maxHistoryTurns`` in all and each cut to ``limits.maxTurnChars``. The
 * body limit counts bytes, so the oldest past turns are dropped until the request fits ``limits.maxBodyBytes``.
 */
export function requestHistory(context, past, question, limits) {
  var ctx = context.slice(0, limits.maxHistoryTurns);
  var room = limits.maxHistoryTurns - ctx.length;
  var turns = ctx.concat(room > 0 ? past.slice(-room) : []).map(function (t) {
    return { role: t.role, content: String(t.content).slice(0, limits.maxTurnChars) };
  });
  // The request with no history and the longest conversation id, then one comma and object per turn.
  var total = bytes(chatBody(question, [], "x".repeat(64)));
  var sizes = turns.map(function (t) { return bytes(t) + 1; });
  sizes.forEach(function (n) { total += n; });
  var drop = 0;
  while (total > limits.maxBodyBytes && ctx.length + drop < turns.length) total -= sizes[ctx.length + drop++];
  if (drop) turns.splice(ctx.length, drop);
  return turns;
}

/** The POST /v1/chat body (api/schemas.py ChatRequest); a conversation id the server would refuse is left out. */
export function chatBody(question, history, conversationId) {
  var b = { message: question, history: history, stream: true };
  if (conversationId && /^[A-Za-z0-9_-]{1,64}$/.test(conversationId)) b.conversation_id = conversationId;
  return b;
}
