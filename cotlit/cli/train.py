"""``cotlit fit | validate | test | predict``: LightningCLI over ``StudentModule`` and the CoT DataModules.

Every run has one directory (``--run_dir``, default ``runs/<command>-<time>``) holding ``config.yaml``,
``checkpoints/``, the CSV log, ``adapter/`` after fit, and ``predictions.jsonl`` + ``metrics.json`` after test
(``predict`` generates for the test split, or for the questions of ``--input``, and writes ``predictions.jsonl``
only). ``test|validate|predict --run runs/X`` re-evaluates a finished run with its ``config.yaml`` and trained
weights into a new folder; these commands never write into a folder that holds a ``metrics.json`` already. ``fit``
tests the trained student at the end (``--test_after_fit``) and, with ``--baseline true``, the untrained one first,
measured the same way. A :class:`~cotlit.evaluation.writer.ResultsWriter` callback writes the result files; the
student scores with the evaluator it builds from the task and template linked from the data module.
"""

from __future__ import annotations

import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import lightning as L
from jsonargparse import set_parsing_settings
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI, SaveConfigCallback

from cotlit.cli.checkpointing import (CHECKPOINT_DIR, LAST, add_checkpoint_arguments, checkpoint_load_error,
                                     configure_checkpointing)
from cotlit.core import METRICS_FILE
from cotlit.data.arithmetic import ArithmeticData
from cotlit.data.base import CoTDataModule
from cotlit.data.hf_data import HFData
from cotlit.data.json_data import JsonData
from cotlit.data.paper import PaperData
from cotlit.errors import CotlitError
from cotlit.evaluation.writer import ResultsWriter
from cotlit.model.loading import RENDERER_FILE, adapter_template, find_adapter
from cotlit.model.student import StudentModule

PLUGINS = (ArithmeticData, HFData, JsonData, PaperData)
"""The built-in data plugins, imported so that YAML can name them by class name."""

RUN_DIR_ENV = "COTLIT_RUN_DIR"
"""Set by the first process so that DDP ranks re-launched with the same arguments share one run directory."""
EVAL_COMMANDS = ("validate", "test", "predict")
DESCRIPTIONS = {
    "test": "Score a student on the test set; writes predictions.jsonl and metrics.json. Give trained weights: "
            "--run runs/X (the run's config.yaml and weights), or --ckpt_path; without them it scores the untrained "
            "student (and says so). Never overwrites a finished run's results: when --run_dir (or the config's "
            "run_dir) already holds a metrics.json, it writes to a new <run_dir>/<command>-<time>/ and prints where.",
    "validate": "Score a student on the validation split (weights and folders as for test).",
    "predict": "Generate answers for the test split (scored like test), or for the questions of an --input file "
               "(extracted, not scored: no gold needed); writes predictions.jsonl. Weights and folders as for test.",
}


class SaveConfigToRunDir(SaveConfigCallback):
    """Writes ``config.yaml`` into the run directory whichever loggers the run has (Lightning's own callback
    writes it into the first logger's folder, and fails when that logger has none, e.g. MLflow with a database
    store); loggers still receive the config through :meth:`save_config`."""

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        if self.already_saved:
            return
        if trainer.is_global_zero:
            run_dir = Path(self.config["run_dir"])
            run_dir.mkdir(parents=True, exist_ok=True)
            self.parser.save(self.config, str(run_dir / self.config_filename), skip_none=False,
                             overwrite=self.overwrite, multifile=self.multifile)
            self.save_config(trainer, pl_module, stage)
            self.already_saved = True
        self.already_saved = trainer.strategy.broadcast(self.already_saved)


class CotlitCLI(LightningCLI):
    untrained: str | None = None
    """test/validate/predict: the student when it comes without trained weights (warned about before it runs)."""

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        parser.add_argument("--run_dir", type=str | None, default=None,
                            help="Run directory (default: runs/<command>-<time>).")
        parser.add_argument("--baseline", type=bool, default=False,
                            help="fit: also test the untrained student first, measured the same way.")
        parser.add_argument("--test_after_fit", type=bool, default=True,
                            help="fit: test the trained student and write predictions.jsonl and metrics.json.")
        add_checkpoint_arguments(parser)
        parser.add_argument("--run", type=str | None, default=None,
                            help="test/validate/predict: re-evaluate the finished run in this folder with its own "
                            "config.yaml and trained weights (checkpoints/last.ckpt, else adapter/); results go to a "
                            "new folder <run>/<command>-<time>/ unless --run_dir is given. Later options override "
                            "the run's config.")
        parser.add_argument("--input", type=str | None, default=None,
                            help="predict: answer the questions of this JSON Lines or JSON-array file (a question "
                            "field, optional id and choices; no gold needed) instead of the test split.")
        parser.add_argument("--question_field", type=str, default="question",
                            help="predict --input: the field holding the question text.")
        parser.link_arguments("model", "data.init_args.tokenizer", compute_fn=lambda model: model.tokenizer,
                              apply_on="instantiate")
        # the student scores the data module's task with its prompts (its evaluator and checkpoint check need them)
        parser.link_arguments("data.init_args.task", "model.init_args.task")
        parser.link_arguments("data.init_args.template", "model.init_args.template")

    # -- run directory ----------------------------------------------------------------------------------------
    def before_instantiate_classes(self) -> None:
        config = self.config[self.subcommand]
        run_dir = config.get("run_dir") or os.environ.get(RUN_DIR_ENV)
        if not run_dir:  # ranks that Lightning re-launches inherit the default chosen here
            run_dir = os.environ[RUN_DIR_ENV] = self._default_run_dir()
        trainer = config["trainer"]
        if config.get("input") is not None and self.subcommand != "predict":
            raise CotlitError(f"--input names questions for predict; {self.subcommand} uses the data module's splits")
        if self.subcommand in EVAL_COMMANDS:
            run_dir = self._eval_run_dir(config, run_dir)
        config["run_dir"] = run_dir
        Path(run_dir).mkdir(parents=True, exist_ok=True)
        self._use_adapter_template(config)
        trainer["default_root_dir"] = run_dir
        if self.subcommand == "fit":
            _check_budget(trainer)
        if trainer.get("logger") in (None, True):
            trainer["logger"] = {"class_path": "lightning.pytorch.loggers.CSVLogger",
                                 "init_args": {"save_dir": run_dir, "name": "", "version": ""}}
        configure_checkpointing(self.subcommand, config, run_dir)

    def _eval_run_dir(self, config: Any, run_dir: str) -> str:
        """Note a student without trained weights (warned about when evaluation starts); never write into a folder
        holding a finished run's results (``metrics.json``: a new ``<folder>/<command>-<time>/`` instead), and move a
        logger left pointing there."""
        student = str(config["model"]["init_args"]["name_or_path"])
        self.untrained = None if config.get("ckpt_path") or _trained_folder(student) else student
        old = Path(run_dir)
        if (old / METRICS_FILE).exists():
            inherited = os.environ.get(RUN_DIR_ENV)  # ranks re-launched by DDP write where the first one does
            if not inherited or Path(inherited).parent != old:
                inherited = str(old / f"{self.subcommand}-{time.strftime('%Y%m%d-%H%M%S')}")
            run_dir = os.environ[RUN_DIR_ENV] = inherited
            print(f"cotlit {self.subcommand}: {old} holds a finished run's {METRICS_FILE}; writing to {run_dir}",
                  file=sys.stderr)
        logger = config["trainer"].get("logger")
        moved = {str(old), str(Path(config["run"]))} if config.get("run") else {str(old)}
        init_args = logger.get("init_args") if hasattr(logger, "get") else None
        if init_args is not None and str(init_args.get("save_dir")) in moved:
            init_args["save_dir"] = run_dir
        return run_dir

    def _use_adapter_template(self, config: Any) -> None:
        """A student given as a cotlit adapter renders prompts as it was trained: its saved template (data and model
        alike) when the data's is ``auto``; a contradicting one is an error."""
        adapter = find_adapter(str(config["model"]["init_args"]["name_or_path"]))
        template = adapter_template(adapter, config["data"]["init_args"]["template"])
        config["data"]["init_args"]["template"] = config["model"]["init_args"]["template"] = template

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

    def instantiate_trainer(self, **kwargs: Any) -> L.Trainer:
        trainer = super().instantiate_trainer(**kwargs)
        self.writer = ResultsWriter(self.run_dir, self._run_info)
        trainer.callbacks.append(self.writer)
        return trainer

    def _run_info(self, trainer: L.Trainer, student: StudentModule) -> dict[str, Any]:
        """What the tested student was trained on and how it was scored, for ``metrics.json``."""
        dm: CoTDataModule = self.datamodule
        hp = student.hparams
        return {
            "task": dm.task, "split": "test", "student": Path(str(hp.name_or_path).removeprefix("pypi:")).name,
            "name_or_path": hp.name_or_path, "finetuning": hp.finetuning, "teacher": dm.teacher,
            "granularity": dm.granularity, "format": dm.format,
            "seed": self.config[self.subcommand].get("seed_everything"),
            "train_cot_words": round(dm.train_cot_words(), 3), "train_examples": len(dm.examples.get("train", [])),
            "global_step": max(trainer.global_step, student.trained_steps), "renderer": student.renderer.to_dict(),
            **student.evaluator.describe(), "data_report": dm.data_report(),
        }

    # -- fit: baseline, adapter export, final test ------------------------------------------------------------
    def before_fit(self) -> None:
        if self.config["fit"]["baseline"]:
            self.writer.prefix = "baseline_"
            self.trainer.test(self.model, datamodule=self.datamodule, verbose=False)
            if self.trainer.is_global_zero:
                self.writer.baseline = self.writer.read_metrics().scores
            self.writer.prefix = ""

    def after_fit(self) -> None:
        # every rank takes part: a sharded (FSDP) model is gathered into one state dict that rank 0 writes
        state = self.trainer.strategy.lightning_module_state_dict()
        if self.trainer.is_global_zero:
            self.model.save_adapter(self.run_dir / "adapter", self.model.renderer.to_dict(), state)
        if self.config["fit"]["test_after_fit"] and not self.datamodule.examples.get("test"):
            print("cotlit: no test set configured (e.g. data.init_args.test_path); skipping the test after fit")
        elif self.config["fit"]["test_after_fit"]:
            self.trainer.test(self.model, datamodule=self.datamodule, verbose=False)
            self._print_summary()

    def _warn_untrained(self) -> None:
        if self.untrained is not None:
            print(f"cotlit {self.subcommand}: WARNING: no trained weights (--run runs/X or --ckpt_path): this scores "
                  f"the untrained student {self.untrained}", file=sys.stderr)

    def before_validate(self) -> None:
        self._warn_untrained()

    def before_test(self) -> None:
        self._warn_untrained()

    def after_test(self) -> None:
        self._print_summary()

    def before_predict(self) -> None:
        self._warn_untrained()
        path = self.config["predict"]["input"]
        if path is not None:
            self.datamodule.predict_on(path, self.config["predict"]["question_field"])

    def after_predict(self) -> None:
        if self.trainer.is_global_zero:
            print(f"cotlit: predictions in {self.writer.predictions_path}")

    def _print_summary(self) -> None:
        """Rank 0 prints the scores as written into ``metrics.json``."""
        if not self.trainer.is_global_zero:
            return
        final = self.writer.read_metrics()
        scores = final.scores
        lines = [f"cotlit: test answer accuracy {scores.answer_accuracy:.4f} on {scores.n} examples "
                 f"(format ok {scores.format_ok_rate:.3f}, mean generated tokens {scores.gen_tokens:.1f})"]
        if final.baseline is not None:
            lines.insert(0, f"cotlit: untrained student test answer accuracy {final.baseline['answer_accuracy']:.4f}")
            lines[1] = lines[1].replace("test answer accuracy", "trained student test answer accuracy")
        lines.append(f"cotlit: predictions and metrics in {self.run_dir}")
        print("\n".join(lines))


def _trained_folder(student: str) -> bool:
    """A student that carries trained weights itself: an adapter, or a folder a cotlit fit exported."""
    return (Path(student) / RENDERER_FILE).is_file() or find_adapter(student) is not None


def _expand_run(argv: list[str]) -> list[str]:
    """``<command> --run runs/X ...``: the run's ``config.yaml`` first (the rest of the command line overrides it),
    its trained weights (``checkpoints/last.ckpt``, else ``adapter/``) and a new results folder inside it."""
    command, rest = argv[0], argv[1:]
    run = _option(rest, "--run")
    if run is None:
        return argv
    if command not in EVAL_COMMANDS:
        raise CotlitError(f"--run re-evaluates a finished run (test, validate, predict); to resume a killed {command}"
                          f" use --config <run>/config.yaml --ckpt_path last")
    folder = Path(run)
    if not (folder / "config.yaml").is_file():
        raise CotlitError("not a cotlit run folder (no config.yaml)", path=folder)
    if (folder / CHECKPOINT_DIR / LAST).is_file():
        weights = ["--ckpt_path", str(folder / CHECKPOINT_DIR / LAST)]
    elif (folder / "adapter").is_dir():
        weights = ["--model.init_args.name_or_path", str(folder / "adapter")]
    else:
        raise CotlitError(f"holds no trained weights ({CHECKPOINT_DIR}/{LAST} or adapter/)", path=folder)
    if _option(rest, "--run_dir") is None:
        if RUN_DIR_ENV not in os.environ:  # DDP ranks re-launched with the same arguments find the same folder
            os.environ[RUN_DIR_ENV] = str(folder / f"{command}-{time.strftime('%Y%m%d-%H%M%S')}")
        weights += ["--run_dir", os.environ[RUN_DIR_ENV]]
    return [command, "--config", str(folder / "config.yaml"), *weights, *rest]


def _option(args: list[str], name: str) -> str | None:
    """The value of ``name`` on a command line (``--name value`` or ``--name=value``; the last one wins)."""
    value = None
    for i, arg in enumerate(args):
        if arg == name and i + 1 < len(args):
            value = args[i + 1]
        elif arg.startswith(f"{name}="):
            value = arg.split("=", 1)[1]
    return value


def _check_budget(trainer: dict[str, Any]) -> None:
    """A fit must end: with neither ``max_epochs`` nor ``max_steps`` (nor ``max_time``), Lightning runs 1000 epochs."""
    if trainer.get("max_epochs") is None and trainer.get("max_steps") in (None, -1) and not trainer.get("max_time"):
        raise CotlitError("fit has no training budget: set trainer.max_epochs or trainer.max_steps (with neither, "
                          "Lightning would train for 1000 epochs)")


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
    # cotlit passes the command line on as `args`; sys.argv must stay as is for DDP ranks to be re-launched.
    warnings.filterwarnings("ignore", message="LightningCLI's args parameter is intended")

    set_parsing_settings(docstring_parse_attribute_docstrings=True)
    try:
        _run(argv)
    except Exception as err:
        cause = _cotlit_error_in(err) or checkpoint_load_error(err)
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
        save_config_callback=SaveConfigToRunDir,
        save_config_kwargs={"overwrite": True},
        trainer_defaults={"use_distributed_sampler": False},
        args=_expand_run(argv),
        parser_kwargs={command: {"description": text} for command, text in DESCRIPTIONS.items()},
        auto_configure_optimizers=False,
    )
