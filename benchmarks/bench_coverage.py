"""MCD load and coverage-check speed: a generated current_article.zip in the full layout (600,000 code rows).

Targets (issue 12): the load at >= 50,000 rows/s with bounded memory (peak RSS of the loading process is
printed beside a bare interpreter that imports the same modules), and a pair check at p95 <= 5 ms. Each
figure is a median of ``--runs`` loads; baselines are measured in the same run.

    python benchmarks/bench_coverage.py [--rows 600000] [--runs 3] [--checks 2000]

Wall-clock figures on a shared machine include time other processes took; the CPU-time figures beside
them do not.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.ingest.mcd_fixtures import HEADERS  # noqa: E402  (the exact export headers)

ARTICLES = 2_000
PARAGRAPH = ("<p>For dates of service on or after 10/01/2025, report the codes of this group with the diagnoses "
             "below.</p><ul><li>Documentation must support medical necessity&reg;.</li></ul>")


class _Table:
    """Rows of one CSV written straight to disk (nothing held in memory), zipped afterwards."""

    def __init__(self, folder: Path, name: str):
        self.path = folder / name
        self.fh = open(self.path, "w", encoding="utf-8", newline="")
        self.w = csv.writer(self.fh, lineterminator="\r\n")
        self.cols = HEADERS[name].split(",")
        self.w.writerow(self.cols)

    def row(self, **values) -> None:
        self.w.writerow([values.get(c, "") for c in self.cols])

    def close(self) -> None:
        self.fh.close()


# A pool the size of ICD-10-CM (about 74,000 billable codes): articles share codes as the real ones do.
POOL = sorted({f"{'ABCDEFGHIJKLMNOPQRSTZ'[i % 21]}{(i // 21) % 100:02d}.{i // 2100}" for i in range(74_000)})


def icd_codes(n: int, rnd: random.Random) -> list[str]:
    start = rnd.randrange(len(POOL) - n)
    return POOL[start:start + n]  # a block of neighbouring codes, like a range in an article


def generate(path: Path, code_rows: int) -> tuple[int, list[tuple[str, str]]]:
    """A current_article.zip with ``code_rows`` CPT/HCPCS + covered + noncovered rows; (rows, sample pairs)."""
    rnd = random.Random(12)
    per = code_rows // ARTICLES
    n_hcpc, n_non = max(3, per // 25), max(1, per // 11)
    n_cov = per - n_hcpc - n_non
    inner = path.parent / "current_article_csv.zip"
    pairs: list[tuple[str, str]] = []
    total = 0
    folder = path.parent / "csv"
    folder.mkdir()
    if True:
        t = {n: _Table(folder, n) for n in HEADERS if n.startswith(("article", "contractor", "state", "update"))}
        for s in range(1, 61):
            t["state_lookup.csv"].row(state_id=s, state_abbrev=f"S{s:02d}", description=f"State {s}")
        for c in range(1, 41):
            t["contractor.csv"].row(contractor_id=c, contractor_type_id=8, contractor_version=1,
                                    contractor_bus_name=f"MAC {c}", contractor_number=f"{c:05d}")
            for s in range(c, 61, 40):
                t["contractor_jurisdiction.csv"].row(contractor_id=c, contractor_type_id=8, contractor_version=1,
                                                     state_id=s)
        t["update_period.csv"].row(period_id=1, begin_date="2026-09-21 00:00:00", dis_end_date="2026-09-27 00:00:00")
        for i in range(ARTICLES):
            aid, ver = 50000 + i, rnd.randint(1, 40)
            t["article.csv"].row(article_id=aid, article_version=ver, article_type=6, status="A",
                                 title=f"Billing and Coding: Generated article {i} &amp; <sup>&reg;</sup>",
                                 article_eff_date="2025-10-01 00:00:00", description=PARAGRAPH * 20)
            t["article_x_contractor.csv"].row(article_id=aid, article_version=ver, article_type=6,
                                              contractor_id=1 + i % 40, contractor_type_id=8, contractor_version=1)
            groups = 1 + i % 3
            hcpcs = [f"{rnd.choice('0123456789JG')}{rnd.randint(0, 9999):04d}" for _ in range(n_hcpc)]
            for k, code in enumerate(hcpcs):
                t["article_x_hcpc_code.csv"].row(article_id=aid, article_version=ver, hcpc_code_id=code,
                                                 hcpc_code_group=1 + k % groups, range="N")
            for g in range(1, groups + 1):
                t["article_x_hcpc_code_group.csv"].row(article_id=aid, article_version=ver, hcpc_code_group=g,
                                                       paragraph=PARAGRAPH)
                t["article_x_icd10_covered_group.csv"].row(article_id=aid, article_version=ver, icd10_covered_group=g,
                                                           paragraph=PARAGRAPH, icd10_covered_ast="")
            covered = icd_codes(n_cov, rnd)
            for k, code in enumerate(covered):
                t["article_x_icd10_covered.csv"].row(
                    article_id=aid, article_version=ver, icd10_code_id=code, icd10_covered_group=1 + k % groups,
                    range="N", sort_order=k, description="Generated diagnosis description", asterisk="N")
            noncovered = icd_codes(n_non, rnd)
            for k, code in enumerate(noncovered):
                t["article_x_icd10_noncovered.csv"].row(
                    article_id=aid, article_version=ver, icd10_code_id=code, icd10_noncovered_group=1, range="N",
                    sort_order=k, description="Generated diagnosis description")
            t["article_x_icd10_noncovered_group.csv"].row(article_id=aid, article_version=ver,
                                                          icd10_noncovered_group=1, paragraph=PARAGRAPH)
            total += len(hcpcs) + len(covered) + len(noncovered)
            if i % 4 == 0:
                pairs += [(hcpcs[0], covered[rnd.randrange(len(covered))]), (hcpcs[-1], noncovered[0]),
                          (hcpcs[1], icd_codes(1, rnd)[0])]
        for tab in t.values():
            tab.close()
    with zipfile.ZipFile(inner, "w", zipfile.ZIP_DEFLATED) as z:
        for tab in t.values():
            z.write(tab.path, tab.path.name)
            tab.path.unlink()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:  # CMS ships the inner zip inside the outer one
        z.write(inner, inner.name)
        z.writestr("readme_first.txt", "generated for the benchmark")
    inner.unlink()
    return total, pairs


def child(args: list[str]) -> dict:
    """Run this script in a fresh interpreter (``--load`` or ``--idle``) and return its JSON report."""
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=600_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--checks", type=int, default=2000)
    ap.add_argument("--load", nargs=2, metavar=("ZIP", "DATA_DIR"), help=argparse.SUPPRESS)
    ap.add_argument("--idle", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.idle or args.load:
        from ingest.mcd import load_table

        if args.idle:
            print(json.dumps({"rss_mib": _rss_mib()}))
            return
        c0 = time.process_time()
        res = load_table(Path(args.load[1]), Path(args.load[0]), force=True)
        print(json.dumps({"seconds": res.seconds, "cpu_seconds": time.process_time() - c0, "rows": res.rows,
                          "code_rows": res.counts["code_rows"], "rss_mib": _rss_mib()}))
        return
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        path = tmp / "current_article.zip"
        t0 = time.perf_counter()
        total, pairs = generate(path, args.rows)
        print(f"generated {path.name}: {total:,} code rows, {path.stat().st_size / 2**20:.1f} MiB zipped, "
              f"in {time.perf_counter() - t0:.1f} s")
        t0 = time.perf_counter()
        with zipfile.ZipFile(path) as outer, outer.open("current_article_csv.zip") as fh:
            inner_bytes = fh.read()
        with zipfile.ZipFile(io.BytesIO(inner_bytes)) as inner:
            raw_rows = sum(sum(1 for _ in csv.reader(io.TextIOWrapper(inner.open(n), encoding="utf-8", newline="")))
                           for n in inner.namelist() if n.startswith("article_x_icd10") or n.startswith("article_x_hcpc"))
        base = time.perf_counter() - t0
        idle = child(["--idle"])["rss_mib"]
        runs = [child(["--load", str(path), str(tmp / f"data{i}")]) for i in range(args.runs)]
        secs = statistics.median(r["seconds"] for r in runs)
        cpu = statistics.median(r["cpu_seconds"] for r in runs)
        rows, code_rows = runs[0]["rows"], runs[0]["code_rows"]
        rss = statistics.median(r["rss_mib"] for r in runs)
        print(f"load: {code_rows:,} code rows ({rows:,} rows in all tables) in {secs:.2f} s (median of {args.runs}) "
              f"= {code_rows / secs:,.0f} code rows/s, {rows / secs:,.0f} rows/s; target >= 50,000 rows/s "
              f"(baseline: unzip + csv-parse the code tables {base:.2f} s = {raw_rows / base:,.0f} rows/s); "
              f"CPU time {cpu:.2f} s = {code_rows / cpu:,.0f} code rows/s (what a busy machine's wall clock hides)")
        print(f"peak RSS of the loading process: {rss:.0f} MiB (median; a bare interpreter with the same imports: "
              f"{idle:.0f} MiB)")
        db = tmp / "data0" / "tables.sqlite"
        print(f"tables.sqlite: {db.stat().st_size / 2**20:.0f} MiB")
        bench_checks(db, pairs, args.checks)


def bench_checks(db: Path, pairs: list[tuple[str, str]], n: int) -> None:
    from casepilot.tables.coverage import check

    rnd = random.Random(5)
    sample = [rnd.choice(pairs) for _ in range(n)]
    import sqlite3

    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    base = []
    for code, dx in sample:
        t0 = time.perf_counter()
        con.execute("SELECT * FROM mcd_hcpc WHERE code = ?", (code,)).fetchall()
        base.append(time.perf_counter() - t0)
    con.close()
    verdicts: dict[str, int] = {}
    for label, state in (("no state", None), ("state S07", "S07")):
        lat, cpu = [], []
        for code, dx in sample:
            t0, c0 = time.perf_counter(), time.process_time()
            v = check(db, code, dx, "2026-11-29", state=state)
            lat.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
            verdicts[v.verdict] = verdicts.get(v.verdict, 0) + 1
        q, qc = statistics.quantiles(lat, n=100), statistics.quantiles(cpu, n=100)
        print(f"check ({label}) over {n:,} pairs: wall median {statistics.median(lat) * 1000:.2f} ms, "
              f"p95 {q[94] * 1000:.2f} ms; CPU time median {statistics.median(cpu) * 1000:.2f} ms, "
              f"p95 {qc[94] * 1000:.2f} ms; target p95 <= 5 ms")
    qb = statistics.quantiles(base, n=100)
    print(f"verdicts: {verdicts} (baseline bare indexed lookup on an open connection: median "
          f"{statistics.median(base) * 1000:.3f} ms, p95 {qb[94] * 1000:.3f} ms)")


if __name__ == "__main__":
    main()
