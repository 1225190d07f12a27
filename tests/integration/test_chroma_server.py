"""The scale-out switch: the same ingest and search against a real `chroma run` server."""

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from casepilot.retrieval import Retriever
from casepilot.vectorstore import VectorStoreUnavailable, make_client
from ingest.corpus import CorpusSource
from ingest.icd10pcs import ICD10PCSSource
from ingest.pipeline import run_ingest
from tests.conftest import make_settings
from tests.processes import stop_process

pytestmark = [pytest.mark.slow, pytest.mark.server]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def chroma_server(tmp_path):
    exe = Path(sys.executable).with_name("chroma")
    if not exe.exists():
        exe = shutil.which("chroma")
    assert exe, "the chroma CLI comes with the chromadb package"
    port = _free_port()
    proc = subprocess.Popen([str(exe), "run", "--path", str(tmp_path / "server"), "--host", "127.0.0.1",
                             "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={"ANONYMIZED_TELEMETRY": "False", "PATH": "/usr/bin:/bin"})
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail("chroma server did not start within 60 s")
    yield url
    stop_process(proc, grace=10)


def test_ingest_and_search_against_a_server(tmp_path, chroma_server, corpus_copy, embedder):
    settings = make_settings(tmp_path / "data", chroma_url=chroma_server)
    sources = lambda: [ICD10PCSSource(limit_tables=("0DT",)), CorpusSource(corpus_copy)]  # noqa: E731
    first = run_ingest(settings, sources(), embedder=embedder)
    assert first.ok and first.added > 0
    again = run_ingest(settings, sources(), embedder=embedder)
    assert again.added == again.embedded == 0
    # the vectors live on the server, not in the local data directory
    assert not settings.chroma_dir.exists()
    client = make_client(settings)
    assert client.get_collection("cp_icd10pcs").count() == sum(1 for d in sources()[0].passages()
                                                              if d.metadata["collection"] == "icd10pcs")
    hits = Retriever(settings, embedder=embedder).search("laparoscopic appendectomy", ["icd10pcs"], k=3)
    assert hits and hits[0].doc.metadata["code"].startswith("0DT")
    assert "Appendix" in hits[0].doc.page_content


def test_unreachable_server_is_a_clear_error(tmp_path):
    settings = make_settings(tmp_path / "data", chroma_url=f"http://127.0.0.1:{_free_port()}")
    t = time.perf_counter()
    with pytest.raises(VectorStoreUnavailable, match="not reachable"):
        make_client(settings)
    assert time.perf_counter() - t < 30
