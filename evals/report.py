"""Write a run: per-item JSONL, summary JSON, a Markdown report and a self-contained HTML report.

The HTML has inline SVG charts and inline CSS only (no scripts, fonts or links to fetch), so it opens
offline and can be attached to a ticket.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

HEADLINE = [
    ("accuracy", "Accuracy (item correct)", True), ("code_top1", "Code top-1", True), ("code_any", "Code any", True),
    ("fact_recall", "Fact recall", True), ("hit@1", "Evidence hit@1", True), ("hit@4", "Evidence hit@4", True),
    ("mrr", "Evidence MRR", True), ("ndcg10", "Evidence nDCG@10", True),
    ("citation_validity", "Citation validity", True), ("citation_support", "Citation support", True),
    ("hallucinated_code_rate", "Hallucinated-code rate", False), ("refusal_precision", "Refusal precision", True),
    ("refusal_recall", "Refusal recall", True), ("p50_ms", "Latency p50 (ms)", False),
    ("p95_ms", "Latency p95 (ms)", False), ("judge_correctness", "LLM judge: correctness", True),
    ("judge_faithfulness", "LLM judge: faithfulness", True),
]
COLORS = {"casepilot": "#1f6feb", "baseline": "#d97706", "previous": "#8b949e"}


def fmt(v) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, float) and abs(v) <= 1.0:
        return f"{v:.3f}"
    return f"{v:,.1f}" if isinstance(v, float) else str(v)


def load_run(path: Path) -> tuple[dict, list[dict]]:
    """(summary, results) of an earlier run directory."""
    summary = json.loads((path / "summary.json").read_text())
    results = [json.loads(x) for x in (path / "results.jsonl").read_text().splitlines() if x.strip()]
    return summary, results


def write_run(out: Path, results: list[dict], summary: dict, previous: dict | None = None) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = {"results": out / "results.jsonl", "summary": out / "summary.json",
             "markdown": out / "report.md", "html": out / "report.html"}
    with paths["results"].open("w", encoding="utf-8") as f:
        for r in results:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    paths["summary"].write_text(json.dumps(summary, indent=2))
    paths["markdown"].write_text(markdown(summary, results, previous))
    paths["html"].write_text(html_report(summary, results, previous))
    return paths


def _rows(summary: dict, previous: dict | None):
    systems = summary["systems"]
    for key, label, _ in HEADLINE:
        vals = {s: systems[s].get(key) for s in systems}
        if all(v is None for v in vals.values()):
            continue
        prev = previous["systems"].get("casepilot", {}).get(key) if previous else None
        yield key, label, vals, prev


def markdown(summary: dict, results: list[dict], previous: dict | None = None) -> str:
    meta = summary.get("meta", {})
    systems = list(summary["systems"])
    lines = [f"# CasePilot eval run {meta.get('run', '')}", "",
             f"{summary['items']} items ({len(summary['skipped'])} skipped) · datasets: {meta.get('datasets', 'all')}"
             f" · data: {meta.get('data_dir', '')} · answerer: {meta.get('answerer', 'grounded')}", ""]
    head = "| metric | " + " | ".join(systems) + (" | previous CasePilot |" if previous else " |")
    lines += [head, "|---" * (len(systems) + 1 + bool(previous)) + "|"]
    for _, label, vals, prev in _rows(summary, previous):
        cells = " | ".join(fmt(vals[s]) for s in systems)
        lines.append(f"| {label} | {cells} |" + (f" {fmt(prev)} |" if previous else ""))
    splits = summary.get("splits", {})
    if splits:
        lines += ["", "## Tuning and held-out splits", "",
                  "The held-out split comes from a writer who never read the rules; nothing is fitted on it.", "",
                  "| split | system | items | accuracy | code top-1 | fact recall | refusal P / R |",
                  "|---|---|---|---|---|---|---|"]
        for split, by_sys in splits.items():
            for sname, v in by_sys.items():
                lines.append(f"| {split} | {sname} | {v['items']} | {fmt(v['accuracy'])} | {fmt(v['code_top1'])} | "
                             f"{fmt(v['fact_recall'])} | {fmt(v['refusal_precision'])} / {fmt(v['refusal_recall'])} |")
    lines += ["", "## Accuracy by category", "", "| category | n | " + " | ".join(systems) + " |",
              "|---|---|" + "---|" * len(systems)]
    cats = summary["systems"][systems[0]]["by_category"] if systems else {}
    for c, v in cats.items():
        cells = " | ".join(fmt(summary["systems"][s]["by_category"].get(c, {}).get("accuracy")) for s in systems)
        lines.append(f"| {c} | {v['n']} | {cells} |")
    if summary["skipped"]:
        lines += ["", "## Skipped", ""]
        reasons: dict[str, int] = {}
        for s in summary["skipped"]:
            reasons[s["reason"]] = reasons.get(s["reason"], 0) + 1
        lines += [f"- {n} item(s): {r}" for r, n in sorted(reasons.items())]
    if meta.get("threshold_failures") is not None:
        lines += ["", "## Thresholds", ""]
        lines += [f"- FAIL: {f}" for f in meta["threshold_failures"]] or ["- all thresholds met"]
    misses = [r for r in results if "casepilot" in r and r["casepilot"]["scores"].get("correct") == 0.0]
    if misses:
        lines += ["", f"## CasePilot misses ({len(misses)})", ""]
        for r in misses[:40]:
            lines.append(f"- `{r['id']}` {r['question']}")
    return "\n".join(lines) + "\n"


# -- SVG ---------------------------------------------------------------------------------------
def _bars(groups: dict[str, dict[str, float | None]], title: str, width: int = 720, unit_max: float = 1.0) -> str:
    """Horizontal grouped bars: one row per group, one bar per series."""
    series = sorted({s for v in groups.values() for s in v}, key=lambda s: list(COLORS).index(s) if s in COLORS else 9)
    bar_h, gap, left = 12, 10, 230
    row_h = bar_h * len(series) + gap
    height = 40 + row_h * len(groups) + 20
    scale = (width - left - 60) / (unit_max or 1)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
           f'aria-label="{html.escape(title)}"><text x="0" y="16" class="t">{html.escape(title)}</text>']
    for i, s in enumerate(series):
        out.append(f'<rect x="{left + i * 110}" y="24" width="10" height="10" fill="{COLORS.get(s, "#444")}"/>'
                   f'<text x="{left + i * 110 + 14}" y="33" class="l">{s}</text>')
    y = 44
    for g, vals in groups.items():
        out.append(f'<text x="{left - 6}" y="{y + row_h / 2}" text-anchor="end" class="l">{html.escape(g)}</text>')
        for j, s in enumerate(series):
            v = vals.get(s)
            w = 0 if v is None else max(v * scale, 1)
            yy = y + j * bar_h
            out.append(f'<rect x="{left}" y="{yy}" width="{w:.1f}" height="{bar_h - 2}" fill="{COLORS.get(s, "#444")}"/>'
                       f'<text x="{left + w + 4:.1f}" y="{yy + bar_h - 3}" class="v">{fmt(v)}</text>')
        y += row_h
    out.append("</svg>")
    return "".join(out)


def _histogram(samples: dict[str, list[float]], title: str, width: int = 720, bins: int = 20) -> str:
    """Latency histogram per system on a shared log-free axis clipped at the 99th percentile."""
    allv = sorted(v for vs in samples.values() for v in vs)
    if not allv:
        return ""
    hi = allv[min(len(allv) - 1, int(len(allv) * 0.99))] or 1.0
    step = hi / bins
    height, left, bottom = 220, 40, 190
    counts = {s: [0] * bins for s in samples}
    for s, vs in samples.items():
        for v in vs:
            counts[s][min(int(v / step), bins - 1)] += 1
    top = max(max(c) for c in counts.values()) or 1
    bw = (width - left - 20) / bins / max(len(samples), 1)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
           f'aria-label="{html.escape(title)}"><text x="0" y="16" class="t">{html.escape(title)}</text>']
    for k, (s, cs) in enumerate(counts.items()):
        out.append(f'<rect x="{left + k * 110}" y="24" width="10" height="10" fill="{COLORS.get(s, "#444")}"/>'
                   f'<text x="{left + k * 110 + 14}" y="33" class="l">{s}</text>')
        for b, c in enumerate(cs):
            h = c / top * (bottom - 50)
            x = left + (b * len(samples) + k) * bw
            out.append(f'<rect x="{x:.1f}" y="{bottom - h:.1f}" width="{bw - 1:.1f}" height="{h:.1f}" '
                       f'fill="{COLORS.get(s, "#444")}"><title>{s}: {c} items, {b * step:.0f}-{(b + 1) * step:.0f} ms'
                       f'</title></rect>')
    out.append(f'<line x1="{left}" y1="{bottom}" x2="{width - 20}" y2="{bottom}" stroke="#999"/>')
    for t in range(0, 5):
        x = left + t * (width - left - 20) / 4
        out.append(f'<text x="{x:.0f}" y="{bottom + 16}" class="v" text-anchor="middle">{hi * t / 4:.0f} ms</text>')
    out.append("</svg>")
    return "".join(out)


CSS = """body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:960px;color:#1f2328}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #d0d7de;padding:4px 8px;text-align:right}
td:first-child,th:first-child{text-align:left}.t{font-weight:600;font-size:14px}.l{font-size:12px}.v{font-size:11px;fill:#555}
.better{color:#1a7f37}.worse{color:#cf222e}code{font-size:12px}"""


def html_report(summary: dict, results: list[dict], previous: dict | None = None) -> str:
    meta = summary.get("meta", {})
    systems = list(summary["systems"])
    e = html.escape
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>CasePilot eval {e(str(meta.get('run', '')))}"
             f"</title><style>{CSS}</style></head><body>",
             f"<h1>CasePilot eval run {e(str(meta.get('run', '')))}</h1>",
             f"<p>{summary['items']} items, {len(summary['skipped'])} skipped · datasets: {e(str(meta.get('datasets', 'all')))}"
             f" · answerer: {e(str(meta.get('answerer', 'grounded')))}</p>"]
    fails = meta.get("threshold_failures")
    if fails is not None:
        parts.append("<p><b>Thresholds:</b> " + ("all met" if not fails else "<span class='worse'>"
                     + "; ".join(e(f) for f in fails) + "</span>") + "</p>")
    parts.append("<table><tr><th>metric</th>" + "".join(f"<th>{e(s)}</th>" for s in systems)
                 + ("<th>previous CasePilot</th><th>change</th>" if previous else "") + "</tr>")
    for key, label, vals, prev in _rows(summary, previous):
        row = f"<tr><td>{e(label)}</td>" + "".join(f"<td>{fmt(vals[s])}</td>" for s in systems)
        if previous:
            cur = vals.get("casepilot")
            delta = "" if cur is None or prev is None else cur - prev
            higher = dict((k, h) for k, _, h in HEADLINE)[key]
            cls = "" if delta in ("", 0) else ("better" if (delta > 0) == higher else "worse")
            spec = "+.1f" if key.endswith("_ms") else "+.3f"
            row += f"<td>{fmt(prev)}</td><td class='{cls}'>{'' if delta == '' else format(delta, spec)}</td>"
        parts.append(row + "</tr>")
    parts.append("</table>")
    by_intent = {i: {s: summary["systems"][s]["by_intent"].get(i, {}).get("accuracy") for s in systems}
                 for i in summary["systems"][systems[0]]["by_intent"]} if systems else {}
    parts.append(_bars(by_intent, "Accuracy per intent"))
    by_cat = {c: {s: summary["systems"][s]["by_category"].get(c, {}).get("accuracy") for s in systems}
              for c in summary["systems"][systems[0]]["by_category"]} if systems else {}
    parts.append(_bars(by_cat, "Accuracy per category"))
    lat = {s: [r[s]["latency_ms"] for r in results if s in r] for s in systems}
    parts.append(_histogram(lat, "Latency distribution (ms per answer)"))
    if previous:
        keys = [k for k, _, higher in HEADLINE if higher and not k.startswith("judge")]
        cmp_groups = {dict((k, l) for k, l, _ in HEADLINE)[k]: {
            "casepilot": summary["systems"].get("casepilot", {}).get(k),
            "previous": previous["systems"].get("casepilot", {}).get(k)} for k in keys}
        parts.append(_bars({k: v for k, v in cmp_groups.items() if any(x is not None for x in v.values())},
                           f"This run against {previous.get('meta', {}).get('run', 'the previous run')}"))
    if summary["skipped"]:
        parts.append(f"<h2>Skipped ({len(summary['skipped'])})</h2><ul>"
                     + "".join(f"<li><code>{e(s['id'])}</code>: {e(s['reason'])}</li>" for s in summary["skipped"])
                     + "</ul>")
    misses = [r for r in results if "casepilot" in r and r["casepilot"]["scores"].get("correct") == 0.0]
    if misses:
        parts.append(f"<h2>CasePilot misses ({len(misses)})</h2><table><tr><th>id</th><th>question</th>"
                     "<th>answer (start)</th></tr>")
        for r in misses[:60]:
            parts.append(f"<tr><td><code>{e(r['id'])}</code></td><td>{e(r['question'])}</td>"
                         f"<td>{e(r['casepilot'].get('answer', r['casepilot'].get('error', ''))[:160])}</td></tr>")
        parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts)
