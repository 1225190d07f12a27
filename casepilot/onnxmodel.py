"""The sentence-transformers model as an ONNX Runtime graph: exported once, offline, from the local weights.

``benchmarks/bench_embeddings.py`` chose this path: on 2 CPU cores the fused fp32 graph embeds the same
titles faster than torch with the same vectors (cosine 1.000), and the per-channel int8 graph faster still
at cosine ~0.99. The export (``torch.onnx.export``, ONNX Runtime's BERT fusions, and for int8
``quantize_dynamic``) needs torch, transformers and onnx; running it needs only onnxruntime and the
model's own fast tokenizer. Pooling and normalisation follow the model's sentence-transformers config
(``modules.json``, ``1_Pooling/config.json``, ``sentence_bert_config.json``).

Exports are cached under ``cache_dir/<model>-<fingerprint>/<backend>.onnx`` with a manifest (size and
SHA-256); each is written to a temporary file and renamed into place, under a file lock, so a killed
export leaves no partial file, and a file that no longer matches its manifest is exported again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

# Bump when the export recipe changes: old exports are then rebuilt, never reused.
EXPORT_VERSION = 1
# backend -> (ONNX Runtime's transformer fusions, int8 quantisation: None / "per-tensor" / "per-channel")
RECIPES: dict[str, tuple[bool, str | None]] = {
    "onnx": (True, None),
    "onnx-int8": (True, "per-channel"),
}


class ExportError(RuntimeError):
    """The model could not be exported or loaded as ONNX; the message says which file and why."""


@dataclass(frozen=True)
class SentenceConfig:
    """What sentence-transformers does after the transformer: truncation, pooling, normalisation."""

    max_seq_length: int = 256
    pooling: str = "mean"  # "mean" or "cls"
    normalize: bool = True

    @classmethod
    def read(cls, model_dir: Path) -> "SentenceConfig":
        """From the model folder's sentence-transformers files (defaults for a bare transformers model)."""
        max_len = 256
        sbert = model_dir / "sentence_bert_config.json"
        if sbert.exists():
            max_len = int(json.loads(sbert.read_text()).get("max_seq_length") or max_len)
        pooling, normalize = "mean", True
        modules = model_dir / "modules.json"
        if modules.exists():
            mods = json.loads(modules.read_text())
            types = [m.get("type", "") for m in mods]
            normalize = any(t.endswith("Normalize") for t in types)
            pool = next((m for m in mods if m.get("type", "").endswith("Pooling")), None)
            if pool is not None:
                conf = json.loads((model_dir / pool.get("path", "") / "config.json").read_text())
                modes = [k for k, v in conf.items() if k.startswith("pooling_mode_") and v]
                if modes == ["pooling_mode_mean_tokens"]:
                    pooling = "mean"
                elif modes == ["pooling_mode_cls_token"]:
                    pooling = "cls"
                else:
                    raise ExportError(f"{model_dir}: pooling {modes} is not supported by the ONNX backends; "
                                      "use CASEPILOT_EMBED_BACKEND=torch")
            if any(not t.endswith(("Transformer", "Pooling", "Normalize")) for t in types):
                raise ExportError(f"{model_dir}: modules {types} are not supported by the ONNX backends; "
                                  "use CASEPILOT_EMBED_BACKEND=torch")
        return cls(max_len, pooling, normalize)


def pool(hidden: np.ndarray, mask: np.ndarray, config: SentenceConfig) -> np.ndarray:
    """Token vectors (batch, tokens, dim) -> sentence vectors, as sentence-transformers pools them.

    >>> h = np.array([[[1.0, 0.0], [0.0, 1.0], [9.0, 9.0]]], dtype=np.float32)
    >>> [round(float(x), 4) for x in pool(h, np.array([[1, 1, 0]]), SentenceConfig())[0]]  # padding ignored
    [0.7071, 0.7071]
    """
    if config.pooling == "cls":
        out = hidden[:, 0, :]
    else:
        m = mask[..., None].astype(hidden.dtype)
        out = (hidden * m).sum(axis=1) / np.clip(m.sum(axis=1), 1e-9, None)
    if config.normalize:
        out = out / np.clip(np.linalg.norm(out, axis=1, keepdims=True), 1e-12, None)
    return out.astype(np.float32)


# -- the cached export --------------------------------------------------------------------------------


def model_fingerprint(model_dir: Path) -> str:
    """Changes when the weights or configs change (a reinstalled package is exported again)."""
    h = hashlib.sha256(f"{EXPORT_VERSION}\x00{model_dir.resolve()}".encode())
    for p in sorted(model_dir.rglob("*")):
        if p.is_file() and not p.name.startswith("."):
            st = p.stat()
            h.update(f"\x00{p.relative_to(model_dir)}\x00{st.st_size}\x00{st.st_mtime_ns}".encode())
    return h.hexdigest()[:16]


def export_path(model_dir: Path, cache_dir: Path, backend: str) -> Path:
    """Where the export of ``backend`` for the model in ``model_dir`` lives (it may not exist yet)."""
    if backend not in RECIPES:
        raise ValueError(f"backend must be one of {sorted(RECIPES)}, but got {backend!r}")
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", model_dir.name).strip("-") or "model"
    return cache_dir / f"{slug}-{model_fingerprint(model_dir)}" / f"{backend}.onnx"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _manifest(path: Path) -> Path:
    return path.with_suffix(".json")


def verified(path: Path) -> bool:
    """True when the export at ``path`` is whole: its manifest names this recipe, its size and its hash."""
    man = _manifest(path)
    if not path.exists() or not man.exists():
        return False
    try:
        m = json.loads(man.read_text())
    except (OSError, ValueError):
        return False
    return (m.get("export_version") == EXPORT_VERSION and m.get("size") == path.stat().st_size
            and m.get("sha256") == _sha256(path))


def _write_atomic(data_writer, dest: Path) -> None:
    """Run ``data_writer(tmp_path)``, then rename the file into ``dest`` (never a partial file at ``dest``)."""
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp")
    os.close(fd)
    try:
        data_writer(Path(tmp))
        os.chmod(tmp, 0o644)  # mkstemp made it private; the server and the dense worker both read it
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def ensure_export(model_dir: Path, cache_dir: Path, backend: str) -> Path:
    """The verified export of ``backend``, made now if it is missing, partial or corrupt (seconds, once)."""
    from filelock import FileLock

    path = export_path(model_dir, cache_dir, backend)
    if verified(path):
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path.with_suffix(".lock")), timeout=900):
        if verified(path):  # another process made it while we waited
            return path
        fuse, quantize = RECIPES[backend]
        _write_atomic(lambda tmp: export_model(model_dir, tmp, fuse=fuse, quantize=quantize), path)
        meta = {"export_version": EXPORT_VERSION, "backend": backend, "model": str(model_dir),
                "size": path.stat().st_size, "sha256": _sha256(path), "fused": fuse, "quantize": quantize}
        _write_atomic(lambda tmp: tmp.write_text(json.dumps(meta, indent=1)), _manifest(path))
    return path


def export_model(model_dir: Path, out: Path, fuse: bool = True, quantize: str | None = None) -> None:
    """Export the transformer of ``model_dir`` to ``out``: token vectors (``last_hidden_state``) for
    ``input_ids``, ``attention_mask`` (and ``token_type_ids``), batch and length dynamic.

    ``fuse`` applies ONNX Runtime's BERT fusions (attention, layer norm, GELU) to a BERT model;
    ``quantize`` ("per-tensor" or "per-channel") then stores the weights as int8 (dynamic quantisation).
    """
    import torch
    from transformers import AutoConfig, AutoModel, AutoTokenizer

    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".export-") as work:
        plain = Path(work) / "plain.onnx"
        config = AutoConfig.from_pretrained(str(model_dir), local_files_only=True)
        # eager attention traces to plain MatMul/Softmax, which the fusions below recognise
        model = AutoModel.from_pretrained(str(model_dir), local_files_only=True, attn_implementation="eager").eval()
        tok = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True, use_fast=True)
        sample = tok(["an example sentence", "a second, somewhat longer example sentence"], padding=True,
                     return_tensors="pt")
        names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in sample]

        class _Encoder(torch.nn.Module):
            def __init__(self, inner):
                super().__init__()
                self.inner = inner

            def forward(self, *args):
                return self.inner(**dict(zip(names, args))).last_hidden_state

        axes = {n: {0: "batch", 1: "tokens"} for n in [*names, "last_hidden_state"]}
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # tracer warnings about Python branches on shapes
            torch.onnx.export(_Encoder(model), tuple(sample[n] for n in names), str(plain), input_names=names,
                              output_names=["last_hidden_state"], dynamic_axes=axes, opset_version=17,
                              dynamo=False)
        src = plain
        if fuse and config.model_type == "bert":
            from onnxruntime.transformers import optimizer

            fused = Path(work) / "fused.onnx"
            opt = optimizer.optimize_model(str(plain), model_type="bert", num_heads=config.num_attention_heads,
                                           hidden_size=config.hidden_size)
            opt.save_model_to_file(str(fused))
            src = fused
        if quantize:
            import onnx
            from onnxruntime.quantization import QuantType, quantize_dynamic

            if quantize not in ("per-tensor", "per-channel"):
                raise ValueError(f"quantize must be 'per-tensor' or 'per-channel', but got {quantize!r}")
            advice = _DropMessage("Please consider to run pre-processing")  # a tip for image models, on the root logger
            logging.getLogger().addFilter(advice)
            try:
                quantize_dynamic(str(src), str(out), weight_type=QuantType.QInt8, per_channel=quantize == "per-channel",
                                 # the fused graph's contrib ops carry no type information for their outputs
                                 extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
            finally:
                logging.getLogger().removeFilter(advice)
        else:
            Path(out).write_bytes(src.read_bytes())


class _DropMessage(logging.Filter):
    def __init__(self, prefix: str):
        super().__init__()
        self.prefix = prefix

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(self.prefix)


# -- running it ---------------------------------------------------------------------------------------


class OnnxEncoder:
    """Texts -> unit vectors through ONNX Runtime, batched by length (padding costs time on CPU)."""

    def __init__(self, onnx_path: Path, model_dir: Path, batch_size: int = 64, sort: bool = True,
                 threads: int | None = None):
        import onnxruntime as ort
        from transformers import AutoTokenizer

        if batch_size <= 0:
            raise ValueError(f"batch_size must be > 0, but got {batch_size}")
        self.config = SentenceConfig.read(model_dir)
        self.batch_size = batch_size
        self.sort = sort
        self.tokenizer = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True, use_fast=True)
        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        if threads:
            opts.intra_op_num_threads = threads
        try:
            self.session = ort.InferenceSession(str(onnx_path), opts, providers=["CPUExecutionProvider"])
        except Exception as e:  # onnxruntime raises its own exception types for a bad file
            raise ExportError(f"{onnx_path} does not load in ONNX Runtime: {e}") from e
        self.inputs = [i.name for i in self.session.get_inputs()]
        self.dimensions = int(self.session.get_outputs()[0].shape[-1])

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i])) if self.sort else list(range(len(texts)))
        for start in range(0, len(order), self.batch_size):
            idx = order[start : start + self.batch_size]
            enc = self.tokenizer([texts[i] for i in idx], padding=True, truncation=True,
                                 max_length=self.config.max_seq_length, return_tensors="np")
            feed = {n: enc[n].astype(np.int64) for n in self.inputs}
            hidden = self.session.run(None, feed)[0]
            out[idx] = pool(hidden, enc["attention_mask"], self.config)
        return out
