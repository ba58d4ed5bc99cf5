"""``cotlit export``: a training checkpoint as a PEFT adapter or a merged model that plain ``transformers`` loads."""

from __future__ import annotations

import json
from pathlib import Path

from cotlit.cli.args import ArgumentParser
from cotlit.cli.checkpointing import load_checkpoint
from cotlit.cli.outputs import check_output
from cotlit.errors import CotlitError
from cotlit.model.student import StudentModule


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(prog="cotlit export", description=__doc__.split(": ", 1)[1])
    parser.add_argument("--ckpt", required=True, help="a cotlit checkpoint (e.g. runs/X/checkpoints/last.ckpt)")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--merge", action="store_true",
                        help="merge LoRA weights into a full-precision copy of the base model")
    return parser


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)

    path, out = Path(args.ckpt), check_output(args.out, folder=True, inputs=[args.ckpt])

    checkpoint = load_checkpoint(path)
    if "hyper_parameters" not in checkpoint or "state_dict" not in checkpoint:
        raise CotlitError("not a cotlit checkpoint (no hyper_parameters/state_dict)", path=path)
    hparams = {k: v for k, v in checkpoint["hyper_parameters"].items() if not k.startswith("_")}
    if args.merge and hparams["finetuning"] == "qlora":
        hparams["finetuning"] = "lora"  # merge into full-precision base weights, not into the 4-bit ones
    student = StudentModule(**hparams)
    student.configure_model()
    missing, unexpected = student.load_state_dict(checkpoint["state_dict"], strict=False)
    trainable = {n for n, p in student.named_parameters() if p.requires_grad}
    if unexpected or trainable & set(missing):
        raise CotlitError(f"checkpoint does not fit the student it names ({len(unexpected)} unexpected, "
                          f"{len(trainable & set(missing))} missing weights)", path=path)
    model = student.model.merge_and_unload() if args.merge and hparams["finetuning"] != "full" else student.model
    model.save_pretrained(out)
    student.tokenizer.save_pretrained(out)
    if "cotlit_renderer" in checkpoint:
        (out / "cotlit_renderer.json").write_text(json.dumps(checkpoint["cotlit_renderer"], indent=2) + "\n")
    kind = "merged model" if args.merge or hparams["finetuning"] == "full" else "PEFT adapter"
    print(f"cotlit export: wrote a {kind} to {out}")
    return 0
