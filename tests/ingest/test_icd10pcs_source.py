"""The ICD-10-PCS loader: Medical and Surgical codes with CMS titles, Obstetrics rows with titles of their axes."""

from ingest.icd10pcs import ICD10PCSSource


def test_obstetrics_rows_become_codes_titled_by_their_axis_values():
    src = ICD10PCSSource(limit_tables=("10D", "10E", "0FT"))
    records = {r.code: r for r in src.records()}
    low = records["10D00Z1"]
    assert low.title == "Obstetrics, Pregnancy, Extraction, Products of Conception, Open, No Device, Low"
    assert low.billable and low.parent == "10D" and low.extra["qualifier"] == "Low"
    assert records["10E0XZZ"].billable
    assert records["10"].title == "Obstetrics, Pregnancy" and records["0F"].title.startswith("Medical and Surgical, ")
    # a Medical and Surgical code keeps its CMS long title
    assert records["0FT44ZZ"].title == "Resection of Gallbladder, Percutaneous Endoscopic Approach"


def test_obstetrics_root_operations_have_their_own_passages():
    passages = {d.id: d for d in ICD10PCSSource(limit_tables=("10E",)).reference_passages()}
    delivery, extraction = passages["pcs-root:1E"], passages["pcs-root:1D"]
    assert delivery.metadata["title"] == "ICD-10-PCS root operation Delivery (Obstetrics)"
    assert "products of conception" in delivery.page_content
    assert "by the use of force" in extraction.page_content  # the definition's line break is gone
    assert passages["pcs-root:D"].metadata["title"] == "ICD-10-PCS root operation Extraction"
