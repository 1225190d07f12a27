"""Loader and table-check speed: HCPCS ingest, a 500,000-row PTP file, and pair-check latency.

Each figure is printed next to a baseline measured in the same run (reading the same file without
parsing; a bare SQLite primary-key lookup), so a slow machine does not look like a regression.

    python benchmarks/bench_tables.py [--rows 500000] [--hcpcs PATH]
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import tracemalloc
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from casepilot.codestore import CodeStore  # noqa: E402
from casepilot.tables import tables_path  # noqa: E402
from casepilot.tables.ptp import check_pair  # noqa: E402
from ingest.hcpcs import HCPCSSource  # noqa: E402
from ingest.ncci_ptp import load_table  # noqa: E402

SHARED = REPO.parent / "shared" / "data"
RATIONALES = ("Misuse of Column Two code with Column One code", "Standards of medical / surgical practice",
              "CPT Manual or CMS manual coding instruction", "Mutually exclusive procedures")


def peak_mib(fn) -> tuple[object, float]:
    """Run ``fn`` under tracemalloc; (result, peak MiB of Python allocations)."""
    tracemalloc.start()
    try:
        out = fn()
        return out, tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def write_ptp(path: Path, n: int) -> None:
    """``n`` rows in the official tab-separated layout (6 header lines, CRLF, Latin-1)."""
    rnd = random.Random(7)
    with open(path, "w", encoding="latin-1", newline="") as fh:
        fh.write("CPT only copyright 2025 American Medical Association.  All rights reserved.\t\t\t\t\t\t\r\n"
                 "Column1/Column2 Edits\t\t\t\t\t\t\r\n"
                 "Column 1\tColumn 2\t*=in existence\tEffective\tDeletion\tModifier\tPTP Edit Rationale\r\n"
                 "\t\tprior to 1996\tDate\tDate\t0=not allowed\t\r\n\t\t\t\t*=no data\t1=allowed\t\r\n"
                 "\t\t\t\t\t9=not applicable\t\r\n")
        for i in range(n):
            c1 = f"{10000 + i // 250:05d}"
            c2 = f"{30000 + (i * 7919) % 60000:05d}"
            deleted = rnd.random() < 0.3
            if i % 1000 == 999:  # an older, deleted row for the same pair: both are kept, check_pair picks by date
                fh.write(f"{c1}\t{c2}\t\t20090101\t20181231\t0\t{RATIONALES[0]}\r\n")
            fh.write(f"{c1}\t{c2}\t{'*' if rnd.random() < 0.1 else ''}\t20{rnd.randint(10, 25)}0101\t"
                     f"{'20231231' if deleted else '*'}\t{rnd.choice('0119')}\t{rnd.choice(RATIONALES)}\r\n")


def bench_hcpcs(path: Path, tmp: Path) -> None:
    t0 = time.perf_counter()
    raw = sum(1 for _ in open(path, "rb")) if path.suffix != ".xlsx" else 0
    base = time.perf_counter() - t0

    def run():
        src = HCPCSSource(path)
        recs = list(src.records())
        docs = list(src.passages())
        store = CodeStore(tmp / f"codes-{time.monotonic_ns()}.sqlite", readonly=False)
        store.replace_source(src.name, src.system, src.version, src.fingerprint(), recs)
        return len(recs), len(docs), src.version

    t0 = time.perf_counter()
    n, docs, version = run()
    secs = time.perf_counter() - t0
    _, peak = peak_mib(run)
    baseline = f" (baseline: reading the raw {raw:,} lines {base * 1000:.0f} ms)" if raw else ""
    print(f"HCPCS {path.name} ({version}): {n:,} records + {docs:,} passages parsed and written to the code store "
          f"in {secs:.2f} s = {n / secs:,.0f} records/s; peak Python memory {peak:.1f} MiB{baseline}")


def bench_ptp(rows: int, tmp: Path) -> Path:
    path = tmp / "ccipra-v322r0-f1.txt"
    t0 = time.perf_counter()
    write_ptp(path, rows)
    print(f"PTP: generated {rows:,} rows ({path.stat().st_size / 2**20:.1f} MiB) in {time.perf_counter() - t0:.1f} s")
    t0 = time.perf_counter()
    n = sum(len(line.split(b"\t")) > 5 for line in open(path, "rb"))
    base = time.perf_counter() - t0
    t0 = time.perf_counter()
    res = load_table(tmp / "data", path)
    secs = time.perf_counter() - t0
    _, peak = peak_mib(lambda: load_table(tmp / "data2", path))
    print(f"PTP load: {res.rows:,} rows ({res.duplicates:,} exact duplicate rows skipped) in {secs:.2f} s = "
          f"{res.rows / secs:,.0f} rows/s; peak Python memory {peak:.1f} MiB "
          f"(baseline: reading and splitting {n:,} lines {base:.2f} s = {n / base:,.0f} rows/s)")
    size = tables_path(tmp / "data").stat().st_size
    print(f"PTP table file: {size / 2**20:.1f} MiB")
    return tables_path(tmp / "data")


def bench_pairs(db: Path, n: int = 2000) -> None:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    pairs = [(r[0], r[1]) for r in con.execute("SELECT col1, col2 FROM ptp ORDER BY random() LIMIT ?", (n // 2,))]
    rnd = random.Random(3)
    pairs += [(f"{rnd.randint(40000, 99999):05d}", f"G{rnd.randint(0, 9999):04d}") for _ in range(n - len(pairs))]
    rnd.shuffle(pairs)
    base = []
    for a, b in pairs:
        t0 = time.perf_counter()
        con.execute("SELECT * FROM ptp WHERE col1 = ? AND col2 = ?", (a, b)).fetchall()
        base.append(time.perf_counter() - t0)
    con.close()
    lat = []
    hits = 0
    today = date.today()  # the date of service the API uses by default
    for i, (a, b) in enumerate(pairs):
        x, y = (b, a) if i % 2 else (a, b)  # either order
        t0 = time.perf_counter()
        v = check_pair(db, x, y, today)
        lat.append(time.perf_counter() - t0)
        hits += bool(v.edits)
    q = statistics.quantiles(lat, n=100)
    qb = statistics.quantiles(base, n=100)
    print(f"check_pair over {len(pairs):,} pairs ({hits:,} with an edit): p50 {q[49] * 1000:.2f} ms, "
          f"p95 {q[94] * 1000:.2f} ms (baseline bare PK lookup on an open connection: p50 {qb[49] * 1000:.3f} ms, "
          f"p95 {qb[94] * 1000:.3f} ms)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=500_000)
    ap.add_argument("--hcpcs", type=Path, action="append")
    args = ap.parse_args()
    hcpcs = args.hcpcs or [p for p in (SHARED / "HCPC2020_ANWEB_w_disclaimer.txt", SHARED / "HCPC2025_OCT_ANWEB.csv",
                                       SHARED / "HCPC2025_OCT_ANWEB.xlsx") if p.exists()]
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        if not hcpcs:
            print(f"HCPCS: skipped, no reference file in {SHARED}")
        for p in hcpcs:
            bench_hcpcs(p, tmp)
        db = bench_ptp(args.rows, tmp)
        bench_pairs(db)


if __name__ == "__main__":
    main()
