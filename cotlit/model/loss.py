"""The training loss: mean cross-entropy over the label tokens, with the LM head applied only where a label is.

``model(..., labels=...).loss`` projects every position of every row onto the vocabulary and keeps the fp32
``[tokens, vocab]`` logits for backward, although on CoT data the prompt (often half of a row) and the padding
carry no label. Here the decoder runs to its hidden states, the positions that have a label after the causal
shift are gathered, and the head runs on those only, in chunks of ``chunk_size`` positions. With more than one
chunk each chunk's logits are recomputed in backward (activation checkpointing), so at most one chunk of logits
exists at a time. The value is the model's own loss: logits in fp32, Gemma-2-style final logit softcapping
applied, the mean over the label tokens. Paths (``StudentModule(loss=...)``):

- ``chunked`` (the default, any device): the above;
- ``liger``: Liger-Kernel's fused linear cross-entropy on the gathered positions (CUDA, ``pip install
  'cotlit[liger]'``; needs a plain ``nn.Linear`` head, i.e. no LoRA on ``lm_head``);
- ``full_logits``: the model's own loss over all positions (the old path, kept for comparisons).
"""

from __future__ import annotations

from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

from cotlit.errors import CotlitError

IGNORE_INDEX = -100
LossPath = Literal["chunked", "liger", "full_logits"]


def causal_lm(model: Any) -> Any:
    """The Hugging Face causal LM itself, inside a PEFT wrapper or not."""
    return model.get_base_model() if hasattr(model, "get_base_model") else model


def shift_labels(labels: torch.Tensor) -> torch.Tensor:
    """The target of every position: the next position's label, ``IGNORE_INDEX`` at each row's end (as
    transformers shifts them)."""
    return F.pad(labels[:, 1:], (0, 1), value=IGNORE_INDEX)


def label_positions(targets: torch.Tensor, count: int | None = None) -> torch.Tensor:
    """Flat indices of the positions of ``targets`` that have a label. ``count``, their number known on the host,
    gives the result a static shape, so the device is not waited for (``nonzero`` must read the count back)."""
    has_label = targets.reshape(-1) != IGNORE_INDEX
    if count is None:
        return has_label.nonzero().squeeze(1)
    return torch.nonzero_static(has_label, size=count).squeeze(1)


def head_logits(head: Any, hidden: torch.Tensor, softcap: float | None) -> torch.Tensor:
    """fp32 logits of ``hidden`` as the model computes them: the head, then the softcapping, then fp32."""
    logits = head(hidden)
    if softcap:
        logits = torch.tanh(logits / softcap) * softcap
    return logits.float()


def _chunk_loss(head: Any, hidden: torch.Tensor, targets: torch.Tensor, softcap: float | None) -> torch.Tensor:
    return F.cross_entropy(head_logits(head, hidden, softcap), targets, reduction="sum")


def chunked_cross_entropy(head: Any, hidden: torch.Tensor, targets: torch.Tensor, *, chunk_size: int,
                          softcap: float | None = None) -> torch.Tensor:
    """Summed cross-entropy of ``head(hidden)`` against ``targets``, ``chunk_size`` rows of logits at a time
    (recomputed in backward when there is more than one chunk)."""
    pieces = list(zip(hidden.split(chunk_size), targets.split(chunk_size)))
    if len(pieces) == 1 or not torch.is_grad_enabled():
        return sum(_chunk_loss(head, h, t, softcap) for h, t in pieces)
    return sum(checkpoint(_chunk_loss, head, h, t, softcap, use_reentrant=False) for h, t in pieces)


def liger_cross_entropy(head: Any, hidden: torch.Tensor, targets: torch.Tensor,
                        softcap: float | None = None) -> torch.Tensor:
    """Summed cross-entropy by Liger-Kernel's fused linear cross-entropy (logits never materialised whole)."""
    try:
        from liger_kernel.transformers import LigerFusedLinearCrossEntropyLoss
    except ImportError as err:
        raise CotlitError(f"loss: liger needs liger-kernel and Triton (`pip install 'cotlit[liger]'` on a CUDA "
                          f"machine; here: {err}); or use loss: chunked") from err
    if type(head) is not torch.nn.Linear or not hidden.is_cuda:
        raise CotlitError(f"loss: liger needs a CUDA device and a plain linear LM head (this one: "
                          f"{type(head).__name__} on {hidden.device}; LoRA on lm_head?); use loss: chunked")
    # Liger's kernels take one dtype; under autocast use the autocast dtype, as the head's matmul would.
    dtype = torch.get_autocast_dtype("cuda") if torch.is_autocast_enabled("cuda") else head.weight.dtype
    bias = None if head.bias is None else head.bias.to(dtype)
    with torch.autocast("cuda", enabled=False):
        return LigerFusedLinearCrossEntropyLoss(reduction="sum", softcap=softcap)(
            head.weight.to(dtype), hidden.to(dtype), targets, bias)


def causal_lm_loss(
    model: Any,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor | None,
    labels: torch.Tensor,
    *,
    position_ids: torch.Tensor | None = None,
    path: LossPath = "chunked",
    chunk_size: int = 1024,
    label_count: int | None = None,
) -> torch.Tensor:
    """Mean cross-entropy over the label tokens of ``labels`` (``IGNORE_INDEX`` elsewhere), equal to
    ``model(..., labels=labels).loss``. ``model``: a transformers causal LM, PEFT-wrapped or not.
    ``label_count``: the number of labels after the shift, when the host knows it (no device sync)."""
    if path == "full_logits":
        return model(input_ids=input_ids, attention_mask=attention_mask, labels=labels, position_ids=position_ids,
                     use_cache=False).loss
    lm = causal_lm(model)
    targets = shift_labels(labels).reshape(-1)
    # before the decoder: without label_count, nonzero waits for the device, which then has little queued
    positions = label_positions(targets, label_count)
    hidden = lm.get_decoder()(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids,
                              use_cache=False).last_hidden_state
    hidden = hidden.reshape(-1, hidden.shape[-1]).index_select(0, positions)
    targets = targets.index_select(0, positions)
    head, softcap = lm.get_output_embeddings(), getattr(lm.config, "final_logit_softcapping", None)
    if path == "liger":
        total = liger_cross_entropy(head, hidden, targets, softcap)
    else:
        total = chunked_cross_entropy(head, hidden, targets, chunk_size=chunk_size, softcap=softcap)
    return total / positions.shape[0]


@torch.no_grad()
def head_matches_model(model: Any, tokens: int = 8) -> bool:
    """Whether decoder, head and softcapping reproduce the model's own logits on a short probe: a model that
    transforms its logits otherwise (unknown here) must keep the ``full_logits`` path."""
    lm = causal_lm(model)
    ids = torch.arange(tokens, device=lm.device).unsqueeze(0) % lm.get_input_embeddings().num_embeddings
    training = lm.training
    lm.eval()
    try:
        expected = lm(input_ids=ids, use_cache=False).logits.float()
        hidden = lm.get_decoder()(input_ids=ids, use_cache=False).last_hidden_state
        ours = head_logits(lm.get_output_embeddings(), hidden, getattr(lm.config, "final_logit_softcapping", None))
    finally:
        lm.train(training)
    return bool(torch.allclose(ours, expected, rtol=1e-4, atol=1e-4))
