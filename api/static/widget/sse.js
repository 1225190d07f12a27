// The Server-Sent Events parser for POST /v1/chat (EventSource cannot POST): CRLF, CR or LF lines, comments, multi-line data.

/**
 * Read ``body`` (a fetch response's ReadableStream) to its end: ``onEvent(name, data)`` for each event,
 * ``onBytes()`` for each chunk (pings included, so an idle timer can tell a live stream from a dead one).
 */
export async function readSSE(body, onEvent, onBytes) {
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
