/*
 * CasePilot embeddable chat widget: the loader. A classic script, so the one-line embed keeps working:
 *   <script src="https://HOST/widget.js" data-api="https://HOST" data-key="PUBLIC_KEY"
 *           data-title="Coding help" data-code="76140" async></script>
 * Optional: data-code-system ("CPT", "HCPCS", "ICD-10-CM", "ICD-10-PCS"), data-starters ("q1|q2"),
 * data-position ("left"), data-open ("true").
 * It reads its own data-* attributes (only a classic script has document.currentScript) and imports the widget's
 * ES modules (api/static/widget/, served as written, no bundler) from beside itself: HOST/widget/main.js. They
 * come from the API's origin, so the server sends them with CORS for any page (api/app.py _widget).
 * No globals, Shadow DOM, no innerHTML: untrusted text only ever becomes text nodes.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  if (!script) {
    var found = document.querySelectorAll('script[src*="widget.js"]');
    script = found[found.length - 1];
  }
  if (!script) return;

  var data = {};
  Array.prototype.forEach.call(script.attributes, function (a) {
    if (a.name.slice(0, 5) === "data-") data[a.name.slice(5)] = a.value;
  });
  var src = new URL(script.src, location.href).href;

  function failed() {
    if (window.console) console.warn("CasePilot widget: its modules could not be loaded from " + new URL(src).origin);
  }

  import(new URL("widget/main.js", src).href).then(function (m) { m.start({ data: data, src: src }); }, failed);
})();
