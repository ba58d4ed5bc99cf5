"""``cotlit fit | validate | test | predict``: LightningCLI over ``StudentModule`` and the CoT DataModules.

Every run has one directory (``--run_dir``, default ``runs/<command>-<time>``) holding ``config.yaml``,
``checkpoints/``, the CSV log, ``adapter/`` after fit, and ``predictions.jsonl`` + ``metrics.json`` after test.
``fit`` tests the trained student at the end (``--test_after_fit``) and, with ``--baseline true``, the untrained
one first, measured the same way.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from lightning.pytorch.cli import LightningArgumentParser, LightningCLI

from cotlit.data.arithmetic import ArithmeticData
from cotlit.data.base import CoTDataModule
from cotlit.data.hf_data import HFData
from cotlit.data.json_data import JsonData
from cotlit.data.paper import PaperData
from cotlit.errors import CotlitError
from cotlit.model.student import StudentModule

PLUGINS = (ArithmeticData, HFData, JsonData, PaperData)
"""The built-in data plugins, imported so that YAML can name them by class name."""

RUN_DIR_ENV = "COTLIT_RUN_DIR"
"""Set by the first process so that DDP ranks re-launched with the same arguments share one run directory."""


class CotlitCLI(LightningCLI):
    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        parser.add_argument("--run_dir", type=str | None, default=None,
                            help="Run directory (default: runs/<command>-<time>).")
        parser.add_argument("--baseline", type=bool, default=False,
                            help="fit: also test the untrained student first, measured the same way.")
        parser.add_argument("--test_after_fit", type=bool, default=True,
                            help="fit: test the trained student and write predictions.jsonl and metrics.json.")
        parser.link_arguments("model", "data.init_args.tokenizer", compute_fn=lambda model: model.tokenizer,
                              apply_on="instantiate")

    # -- run directory ----------------------------------------------------------------------------------------
    def before_instantiate_classes(self) -> None:
        config = self.config[self.subcommand]
        run_dir = config.get("run_dir") or os.environ.get(RUN_DIR_ENV)
        if not run_dir:  # ranks that Lightning re-launches inherit the default chosen here
            run_dir = os.environ[RUN_DIR_ENV] = self._default_run_dir()
        config["run_dir"] = run_dir
        Path(run_dir).mkdir(parents=True, exist_ok=True)
        trainer = config["trainer"]
        trainer["default_root_dir"] = run_dir
        if trainer.get("logger") in (None, True):
            trainer["logger"] = {"class_path": "lightning.pytorch.loggers.CSVLogger",
                                 "init_args": {"save_dir": run_dir, "name": "", "version": ""}}
        callbacks = trainer.get("callbacks") or []
        if not any("ModelCheckpoint" in str(getattr(cb, "class_path", cb)) for cb in callbacks):
            callbacks.append({"class_path": "lightning.pytorch.callbacks.ModelCheckpoint",
                              "init_args": {"dirpath": str(Path(run_dir) / "checkpoints"), "save_last": True,
                                            "save_top_k": 0}})
        trainer["callbacks"] = callbacks

    def _default_run_dir(self) -> str:
        """``runs/<command>-<time>``; ranks started by an external launcher, which compute this independently, use
        the launcher's job id instead so that they agree (SLURM job and step, or torchrun's ``--rdzv-id``)."""
        name = time.strftime("%Y%m%d-%H%M%S")
        if int(os.environ.get("SLURM_STEP_NUM_TASKS", "1")) > 1:
            name = f"slurm{os.environ['SLURM_JOB_ID']}.{os.environ['SLURM_STEP_ID']}"
        elif int(os.environ.get("WORLD_SIZE", "1")) > 1:
            run_id = os.environ.get("TORCHELASTIC_RUN_ID", "none")
            if run_id == "none":
                raise CotlitError(f"ranks started by an external launcher need one run directory: pass --run_dir "
                                  f"or set {RUN_DIR_ENV} (scripts/torchrun.sh does)")
            name = run_id
        return str(Path("runs") / f"{self.subcommand}-{name}")

    @property
    def run_dir(self) -> Path:
        return Path(self.config[self.subcommand]["run_dir"])

    # -- fit: baseline, adapter export, final test ------------------------------------------------------------
    def before_fit(self) -> None:
        self.baseline: dict[str, Any] | None = None
        if self.config["fit"]["baseline"]:
            self.trainer.test(self.model, datamodule=self.datamodule, verbose=False)
            self.baseline = self.model.last_test_results
            self._write_results("baseline_")

    def after_fit(self) -> None:
        # every rank takes part: a sharded (FSDP) model is gathered into one state dict that rank 0 writes
        state = self.trainer.strategy.lightning_module_state_dict()
        if self.trainer.is_global_zero:
            self.model.save_adapter(self.run_dir / "adapter", self.datamodule.renderer.to_dict(), state)
        if self.config["fit"]["test_after_fit"] and not self.datamodule.examples.get("test"):
            print("cotlit: no test set configured (e.g. data.init_args.test_path); skipping the test after fit")
        elif self.config["fit"]["test_after_fit"]:
            self.trainer.test(self.model, datamodule=self.datamodule, verbose=False)
            self._write_results()
            self._print_summary()

    def after_test(self) -> None:
        self._write_results()
        self._print_summary()

    def after_predict(self) -> None:
        if self.trainer.is_global_zero:
            _write_jsonl(self.run_dir / "predictions.jsonl", self.model.predictions)

    def _write_results(self, prefix: str = "") -> None:
        """Rank 0 writes ``predictions.jsonl`` and ``metrics.json`` (one row per example, de-duplicated)."""
        if not self.trainer.is_global_zero:
            return
        _write_jsonl(self.run_dir / f"{prefix}predictions.jsonl", self.model.predictions)
        results = self.model.last_test_results
        dm: CoTDataModule = self.datamodule
        hp = self.model.hparams
        metrics = {
            "task": dm.task, "split": "test", **results,
            "student": Path(str(hp.name_or_path).removeprefix("pypi:")).name, "name_or_path": hp.name_or_path,
            "finetuning": hp.finetuning, "teacher": dm.teacher, "granularity": dm.granularity,
            "format": dm.format, "seed": self.config[self.subcommand].get("seed_everything"),
            "train_cot_words": round(dm.train_cot_words(), 3), "train_examples": len(dm.examples.get("train", [])),
            "global_step": self.trainer.global_step, "renderer": dm.renderer.to_dict(),
        }
        if prefix == "" and getattr(self, "baseline", None) is not None:
            metrics["baseline"] = self.baseline
        (self.run_dir / f"{prefix}metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")

    def _print_summary(self) -> None:
        if not self.trainer.is_global_zero:
            return
        final = self.model.last_test_results
        lines = [f"cotlit: test answer accuracy {final['answer_accuracy']:.4f} on {final['n']} examples "
                 f"(answer found {final['answer_found']:.3f}, mean generated tokens {final['gen_tokens']:.1f})"]
        if getattr(self, "baseline", None) is not None:
            lines.insert(0, f"cotlit: untrained student test answer accuracy {self.baseline['answer_accuracy']:.4f}")
            lines[1] = lines[1].replace("test answer accuracy", "trained student test answer accuracy")
        lines.append(f"cotlit: predictions and metrics in {self.run_dir}")
        print("\n".join(lines))


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps({k: v for k, v in row.items() if k != "index"}, ensure_ascii=False) + "\n")


def _cotlit_error_in(err: BaseException) -> CotlitError | None:
    """The CotlitError behind an error jsonargparse raised while instantiating a class, if any."""
    seen: set[int] = set()
    while err is not None and id(err) not in seen:
        if isinstance(err, CotlitError):
            return err
        seen.add(id(err))
        err = err.__cause__ or err.__context__
    return None


def main(argv: list[str]) -> int:
    import warnings

    from jsonargparse import set_parsing_settings

    # cotlit passes the command line on as `args`; sys.argv must stay as is for DDP ranks to be re-launched.
    warnings.filterwarnings("ignore", message="LightningCLI's args parameter is intended")

    set_parsing_settings(docstring_parse_attribute_docstrings=True)
    try:
        _run(argv)
    except ValueError as err:
        cause = _cotlit_error_in(err)
        if cause is None:
            raise
        raise cause from None
    return 0


def _run(argv: list[str]) -> None:
    CotlitCLI(
        StudentModule,
        CoTDataModule,
        subclass_mode_model=True,
        subclass_mode_data=True,
        save_config_kwargs={"overwrite": True},
        trainer_defaults={"use_distributed_sampler": False},
        args=argv,
        auto_configure_optimizers=False,
    )
