"""``global_batch_size``: gradient accumulation set at setup so every optimizer step sees the same examples."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from cotlit.data.arithmetic import ArithmeticData
from cotlit.errors import CotlitError
from cotlit.model.loading import load_tokenizer


@pytest.fixture(scope="module")
def tokenizer(tiny_llama):
    return load_tokenizer(tiny_llama)


def trainer(world_size: int, accumulate: int = 1) -> SimpleNamespace:
    return SimpleNamespace(world_size=world_size, global_rank=0, accumulate_grad_batches=accumulate, logger=None)


def setup(tokenizer, fake: SimpleNamespace, **kwargs) -> SimpleNamespace:
    settings = dict(train_size=8, val_size=0, test_size=2, batch_size=4, global_batch_size=64, tokenizer=tokenizer)
    dm = ArithmeticData(**(settings | kwargs))
    dm.trainer = fake
    dm.setup("fit")
    return fake


@pytest.mark.parametrize(("devices", "accumulate"), [(1, 16), (2, 8), (4, 4), (16, 1)])
def test_the_global_batch_is_64_at_any_device_count(tokenizer, devices: int, accumulate: int) -> None:
    assert setup(tokenizer, trainer(devices)).accumulate_grad_batches == accumulate


def test_an_unreachable_global_batch_is_an_error(tokenizer) -> None:
    with pytest.raises(CotlitError, match="not a multiple of batch_size 4 x 3 devices"):
        setup(tokenizer, trainer(3))
    with pytest.raises(CotlitError, match="needs accumulate_grad_batches 16, but the trainer sets 2"):
        setup(tokenizer, trainer(1, accumulate=2))
    with pytest.raises(CotlitError, match="packed rows"):
        setup(tokenizer, trainer(1), pack=True)


def test_without_global_batch_size_the_trainer_keeps_its_accumulation(tokenizer) -> None:
    assert setup(tokenizer, trainer(2, accumulate=3), global_batch_size=None).accumulate_grad_batches == 3
