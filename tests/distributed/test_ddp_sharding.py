"""Ranks shard the data: in a 2-rank CPU DDP fit (and its test), the example ids each rank trained and tested on
are disjoint and together cover the split, except for what the samplers leave out or repeat to even out ranks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_ddp import child_env, cli_args, run

WORLD, BATCH, EVAL_BATCH = 2, 4, 2
"""The harness's ranks, training batch size and evaluation batch size (see ``test_ddp.cli_args``)."""


def seen_by_rank(probe: Path) -> list[dict]:
    return [json.loads((probe / f"seen-rank{rank}.json").read_text()) for rank in range(WORLD)]


@pytest.mark.slow
def test_ranks_train_and_test_on_disjoint_shards_covering_the_split(tiny_llama, tmp_path):
    probe = tmp_path / "probe"
    run(cli_args("fit", tiny_llama, tmp_path / "run", probe, "--trainer.strategy=ddp", f"--trainer.devices={WORLD}"),
        child_env(tmp_path))
    ranks = seen_by_rank(probe)
    splits = ranks[0]["splits"]
    assert all(rank["splits"] == splits for rank in ranks)  # every rank holds the same examples in the same order

    trained = [rank["seen"]["train-epoch0"] for rank in ranks]
    assert all(trained), "a rank trained on nothing"
    assert set(trained[0]).isdisjoint(trained[1]), "both ranks trained on the same examples"
    covered = set(trained[0]) | set(trained[1])
    assert covered <= set(splits["train"])
    # the sampler leaves out at most world_size - 1 batches an epoch that cannot be shared evenly
    assert len(covered) >= len(splits["train"]) - (WORLD - 1) * BATCH

    tested = [rank["seen"]["test"] for rank in ranks]
    assert set(tested[0]) | set(tested[1]) == set(splits["test"]), "a test example was never scored"
    # only the repeats that pad the batch list to a multiple of world_size may be seen by both ranks
    assert len(set(tested[0]) & set(tested[1])) <= (WORLD - 1) * EVAL_BATCH
    assert all(len(ids) < len(splits["test"]) for ids in tested), "a rank scored the whole test set"
