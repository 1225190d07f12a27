"""Writers for small files in the official CMS/AMA layouts, and the path of the shared reference data.

Descriptor text here is invented ("Test descriptor for code 99999"): no real CPT text in the repository.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


def shared(name: str) -> Path:
    """A file of ../shared/data, or skip the test with the reason."""
    p = SHARED_DATA / name
    if not p.exists():
        pytest.skip(f"reference file {name} is not in {SHARED_DATA.resolve()} (the shared data folder beside the repo)")
    return p


# -- HCPCS -----------------------------------------------------------------------------------------

HCPCS_COLUMNS = (
    "HCPC,SEQNUM,RECID,LONG DESCRIPTION,SHORT DESCRIPTION,PRICE1,PRICE2,PRICE3,PRICE4,MULT_PI,CIM1,CIM2,CIM3,MCM1,"
    "MCM2,MCM3,STATUTE,LABCERT1,LABCERT2,LABCERT3,LABCERT4,LABCERT5,LABCERT6,LABCERT7,LABCERT8,XREF1,XREF2,XREF3,"
    "XREF4,XREF5,COV,ASC_GRP,ASC_DT,OPPS,OPPS_PI,OPPS_DT,PROCNOTE,BETOS,TOS1,TOS2,TOS3,TOS4,TOS5,ANEST_BU,ADD DT,"
    "ACT EFF DT,TERM DT,ACTION CD"
).split(",")


def hcpcs_record(code: str, rid: str, long: str, seq: int = 100, short: str = "", price: str = "00", cov: str = "C",
                 betos: str = "", add: str = "20200101", eff: str = "20200101", term: str = "", action: str = "N") -> str:
    """One 320-character fixed-width record (positions from the CMS record layout)."""
    buf = [" "] * 320

    def put(start: int, value: str, width: int) -> None:
        for i, ch in enumerate(value[:width].ljust(width)):
            buf[start - 1 + i] = ch

    put(1, code.rjust(5) if len(code) == 2 else code, 5)
    put(6, f"{seq:05d}", 5)
    put(11, rid, 1)
    put(12, long, 80)
    if rid in ("3", "7"):
        put(92, short, 28)
        put(120, price, 8)
        put(230, cov, 1)
        put(257, betos, 3)
        put(269, add, 8)
        put(277, eff, 8)
        put(285, term, 8)
        put(293, action, 1)
        return "".join(buf)
    return "".join(buf).rstrip()  # CMS trims continuation records to 91 characters


HCPCS_DISCLAIMER = "Note regarding coverage and payment indicators for codes in the HCPCS update\r\n\r\n"


def write_hcpcs_fixed(path: Path, records: list[str], encoding: str = "latin-1", preamble: str = HCPCS_DISCLAIMER,
                      bom: bool = False) -> Path:
    data = (preamble + "".join(r + "\r\n" for r in records)).encode(encoding)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return path


def sample_hcpcs_records() -> list[str]:
    return [
        hcpcs_record("A1", "7", "Dressing for one wound", short="Dressing for one wound"),
        hcpcs_record("XS", "7", "Separate structure, a service that is distinct because it was performed on a",
                     short="Separate structure"),
        hcpcs_record("XS", "8", "separate organ/structure", seq=200),
        hcpcs_record("A9999", "3", "Test supply item for the fixture, caf\u00e9 grade", short="Test supply item",
                     betos="D1F", cov="D"),
        hcpcs_record("G9998", "3", "Test service that continues on a second record because the long description",
                     short="Test long service"),
        hcpcs_record("G9998", "4", "is longer than eighty characters", seq=200),
        hcpcs_record("G9997", "3", "Test terminated service", short="Test old service", term="20171231",
                     action="D"),
    ]


def write_hcpcs_csv(path: Path, rows: list[dict], encoding: str = "utf-8", bom: bool = False) -> Path:
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(HCPCS_COLUMNS)
    for r in rows:
        w.writerow([r.get(c, "") for c in HCPCS_COLUMNS])
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + buf.getvalue().encode(encoding))
    return path


def sample_hcpcs_rows() -> list[dict]:
    return [
        {"HCPC": "   XE", "SEQNUM": "0010", "RECID": "7", "LONG DESCRIPTION": "Separate encounter, test text",
         "SHORT DESCRIPTION": "Separate encounter", "COV": "C", "ADD DT": "20150101", "ACT EFF DT": "20150101",
         "ACTION CD": "N"},
        {"HCPC": "A9999", "SEQNUM": "0010", "RECID": "3", "LONG DESCRIPTION": "Test supply item, na\u00efve grade",
         "SHORT DESCRIPTION": "Test supply item", "PRICE1": "00", "COV": "D", "BETOS": "D1F", "TOS1": "9",
         "ADD DT": "20200101", "ACT EFF DT": "20200101", "ACTION CD": "N"},
        {"HCPC": "G9997", "SEQNUM": "0010", "RECID": "3", "LONG DESCRIPTION": "Test terminated service",
         "SHORT DESCRIPTION": "Test old service", "COV": "C", "ADD DT": "20160101", "ACT EFF DT": "20180101",
         "TERM DT": "20171231", "ACTION CD": "D"},
    ]


# -- NCCI PTP --------------------------------------------------------------------------------------

PTP_HEADER = (
    "CPT only copyright 2025 American Medical Association.  All rights reserved.\t\t\t\t\t\t\r\n"
    "Column1/Column2 Edits\t\t\t\t\t\t\r\n"
    "Column 1\tColumn 2\t*=in existence\tEffective\tDeletion\tModifier\tPTP Edit Rationale\r\n"
    "\t\tprior to 1996\tDate\tDate\t0=not allowed\t\r\n"
    "\t\t\t\t*=no data\t1=allowed\t\r\n"
    "\t\t\t\t\t9=not applicable\t\r\n"
)


def ptp_line(col1: str, col2: str, eff: str = "20200101", dele: str = "*", mod: str = "1",
             rationale: str = "Misuse of Column Two code with Column One code", pre: str = "") -> str:
    return f"{col1}\t{col2}\t{pre}\t{eff}\t{dele}\t{mod}\t{rationale}\r\n"


def write_ptp(path: Path, lines: list[str], encoding: str = "latin-1", header: str = PTP_HEADER) -> Path:
    path.write_bytes((header + "".join(lines)).encode(encoding))
    return path


def sample_ptp_lines() -> list[str]:
    return [
        ptp_line("10021", "36000", mod="1", pre="*", eff="19960101"),
        ptp_line("10021", "76942", mod="0", rationale="Standards of medical / surgical practice"),
        ptp_line("10021", "99999", eff="20200101", dele="20201231", mod="1"),
        ptp_line("10021", "G0471", eff="20220101", dele="20220101", mod="9"),
        ptp_line("A9999", "G9998", eff="20990101", mod="0"),
    ]


def write_ptp_xlsx(path: Path, lines: list[str]) -> Path:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    for h in PTP_HEADER.split("\r\n")[:-1]:
        ws.append(h.split("\t"))
    for ln in lines:
        cells = ln.rstrip("\r\n").split("\t")
        cells[3] = int(cells[3])  # dates come as numbers from Excel
        ws.append(cells)
    wb.save(path)
    return path


def zip_files(path: Path, files: list[Path]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for f in files:
            zf.write(f, f.name)
    return path


# -- MUE ---------------------------------------------------------------------------------------

MUE_NOTICE = (
    '"Current Procedural Terminology (CPT) codes, descriptions and other data only are copyright 2025 American '
    'Medical Association. All rights reserved. \n\nCPT\u00ae is a registered trademark of the American Medical '
    'Association.\n\nApplicable FARS/DFARS Restrictions Apply to Government Use. ",,,\r\n'
)


def write_mue(path: Path, rows: list[tuple], setting_header: str = "Practitioner Services MUE Values",
              encoding: str = "latin-1", bom: bool = False) -> Path:
    text = MUE_NOTICE + f'"HCPCS/\nCPT Code",{setting_header},MUE Adjudication Indicator,MUE Rationale\r\n'
    text += "".join(",".join(str(c) for c in r) + "\r\n" for r in rows)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode(encoding))
    return path


def sample_mue_rows() -> list[tuple]:
    return [
        ("0001U", 1, "2 Date of Service Edit: Policy", "Code Descriptor / CPT Instruction"),
        ("99999", 4, "3 Date of Service Edit: Clinical", "Nature of Service/Procedure"),
        ("A9999", 10, "1 Line Edit", "Clinical: Data"),
    ]


# -- PFS ---------------------------------------------------------------------------------------

PFS_TITLE_ROWS = [
    [",,2025 National Physician Fee Schedule Relative Value File October Release"],
    [",,CPT codes and descriptions only are copyright 2024 American Medical Association."],
    [",,RELEASED 09/11/2025"],
]
PFS_HEADER = ("HCPCS,MOD,DESCRIPTION,CODE,PAYMENT,RVU,PE RVU,INDICATOR,PE RVU,INDICATOR,RVU,TOTAL,TOTAL,IND,DAYS,OP,OP,"
              "OP,PROC,SURG,SURG,SURG,SURG,BASE,FACTOR,PROCEDURES,FLAG,INDICATOR,AMOUNT,AMOUNT,AMOUNT")


def pfs_csv_row(code: str, mod: str = "", desc: str = "Test service", status: str = "A", glob: str = "090",
                ind: str = "22100") -> str:
    mult, bil, asst, co, team = ind
    return (f"{code},{mod},{desc},{status},,1.00,2.00,,1.50,,0.10,3.10,2.60,0,{glob},0.10,0.80,0.10,{mult},{bil},"
            f"{asst},{co},{team},,32.3465,09,0,99,0.00,0.00,0.00")


def write_pfs_csv(path: Path, rows: list[str], encoding: str = "latin-1") -> Path:
    text = "".join(r[0] + "\r\n" for r in PFS_TITLE_ROWS) + PFS_HEADER + "\r\n" + "".join(r + "\r\n" for r in rows)
    path.write_bytes(text.encode(encoding))
    return path


def pfs_txt_record(code: str, mod: str = "", desc: str = "Test service", status: str = "A", glob: str = "090",
                   ind: str = "22100") -> str:
    buf = [" "] * 171

    def put(start: int, value: str) -> None:
        for i, ch in enumerate(value):
            buf[start - 1 + i] = ch

    put(1, code)
    put(6, mod)
    put(8, desc[:50])
    put(58, status)
    put(60, "  1.00")
    put(91, "  3.10")
    put(97, "  2.60")
    put(103, "0")
    put(104, glob)
    put(107, ".10.80.10")
    put(116, ind)
    put(133, " 32.3465")
    put(142, "09")
    return "".join(buf)


def write_pfs_txt(path: Path, records: list[str]) -> Path:
    hdr = "HDR CPT CODES AND DESCRIPTIONS ONLY ARE COPYRIGHT \r\nHDR RESERVED.                                     \r\n"
    path.write_bytes((hdr + "".join(r + "\r\n" for r in records)).encode("latin-1"))
    return path


# -- documents ---------------------------------------------------------------------------------

def write_pdf(path: Path, pages: list[str], title: str = "Test policy") -> Path:
    """A minimal valid PDF (Helvetica text, one line per page) with correct xref offsets."""
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>"]
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(len(pages)))
    objs.append(f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode())
    objs.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    for i, text in enumerate(pages):
        content = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
        objs.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {5 + 2 * i} 0 R "
                    f"/Resources << /Font << /F1 3 0 R >> >> >>".encode())
        objs.append(b"<< /Length " + str(len(content)).encode() + b" >>\nstream\n" + content + b"\nendstream")
    objs.append(f"<< /Title ({title}) >>".encode())
    path.write_bytes(pdf_bytes(objs, f"<< /Size {len(objs) + 1} /Root 1 0 R /Info {len(objs)} 0 R >>".encode()))
    return path


def pdf_bytes(objects: list[bytes], trailer: bytes) -> bytes:
    """A PDF of these object bodies (numbered from 1) and this trailer, with correct xref offsets."""
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{n} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    return bytes(out + b"trailer\n" + trailer + f"\nstartxref\n{xref}\n%%EOF\n".encode())
