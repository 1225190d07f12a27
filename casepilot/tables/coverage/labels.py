"""Where the MCD downloads are, the addresses of its documents, and the words for coverage levels and verdicts."""

from __future__ import annotations

EXPORTS = "https://downloads.cms.gov/medicare-coverage-database/downloads/exports/"
DOWNLOAD_FILES = {"article": "current_article.zip", "lcd": "current_lcd.zip", "ncd": "ncd.zip"}
DOWNLOAD_PAGE = "https://www.cms.gov/medicare-coverage-database/downloads/downloads.aspx"
ARTICLE_URL = "https://www.cms.gov/medicare-coverage-database/view/article.aspx?articleId={id}&ver={version}"
NCD_URL = "https://www.cms.gov/medicare-coverage-database/view/ncd.aspx?NCDId={id}&NCDver={version}"

COVERAGE_LEVELS = {
    "1": "full coverage", "2": "restricted coverage", "3": "no coverage",
    "4": "coverage level 4 (a value the NCD data dictionary does not define)",
}
VERDICT_LABELS = {"supported": "supported", "not_supported": "not supported", "not_addressed": "not addressed",
                  "not_decided": "not decided"}


def not_loaded_message(dataset: str = "article") -> str:
    """What to download and the command that loads it."""
    name = DOWNLOAD_FILES[dataset]
    what = {"article": "billing-and-coding articles (the coverage crosswalk of CPT/HCPCS to ICD-10-CM codes)",
            "lcd": "local coverage determinations (LCDs)", "ncd": "national coverage determinations (NCDs)"}[dataset]
    return (f"The Medicare Coverage Database {what} are not loaded. Download {name} from {EXPORTS}{name} "
            f"(the MCD downloads page, {DOWNLOAD_PAGE}) and run: casepilot ingest --source mcd PATH")
