"""Embedding + LSTM: packed sequences, batch independence across padding, bundles, clipping."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from fullcycle.checks.batch_independence import batch_independence
from fullcycle.data.dataset import prepare
from fullcycle.engine.fit import RECURRENT_CLIP_NORM, fit
from fullcycle.errors import FullcycleError
from fullcycle.models.bundle import load_bundle, save_bundle
from fullcycle.models.mlp import init_output_bias
from fullcycle.models.text import TextEncoder, TextMLP, text_sizes
from fullcycle.serve.predictor import Predictor


def _model(p, **kwargs) -> TextMLP:
    torch.manual_seed(0)
    pre = p.preprocessor
    return TextMLP(pre.n_features, 1, pre.text, embedding_dim=16, hidden_size=16,
                   categorical=pre.categorical, **kwargs)


def _ids() -> torch.Tensor:
    # three texts of lengths 5, 2 and 1, padded to 7
    return torch.tensor([[5, 6, 7, 8, 9, 0, 0], [4, 5, 0, 0, 0, 0, 0], [3, 0, 0, 0, 0, 0, 0]])


@pytest.mark.parametrize("pooling", ["last", "mean", "max", "concat"])
def test_packed_and_padded_runs_give_the_same_outputs(pooling):
    torch.manual_seed(0)
    encoder = TextEncoder(12, 8, 8, pooling=pooling).eval()
    ids = _ids()
    np.testing.assert_allclose(encoder(ids, packed=True).detach(),
                               encoder(ids, packed=False).detach(), atol=1e-6)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_a_rows_output_does_not_depend_on_the_padding_of_its_batch(bidirectional):
    torch.manual_seed(0)
    encoder = TextEncoder(12, 8, 8, bidirectional=bidirectional, layers=2).eval()
    ids = _ids()
    together = encoder(ids).detach()
    for i, length in enumerate((5, 2, 1)):
        alone = encoder(ids[i : i + 1, :length]).detach()
        more_padding = encoder(torch.nn.functional.pad(ids[i : i + 1], (0, 9))).detach()
        np.testing.assert_allclose(together[i : i + 1], alone, atol=1e-6)
        np.testing.assert_allclose(alone, more_padding, atol=1e-6)


def test_batch_independence_check_passes_on_the_text_model(reviews):
    p = prepare(reviews, "label")
    result = batch_independence(_model(p), (p.X["train"][:16], p.y["train"][:16]))
    assert result.status == "pass", result.message


class _ForgotBatchFirst(nn.Module):
    """The classic bug: an LSTM without batch_first=True reads the batch axis as time."""

    def __init__(self) -> None:
        super().__init__()
        self.embedding = nn.Embedding(12, 4, padding_idx=0)
        self.lstm = nn.LSTM(4, 4)
        self.out = nn.Linear(4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        states, _ = self.lstm(self.embedding(x.round().long()))
        return self.out(states.mean(dim=1))


def test_batch_independence_check_finds_an_lstm_reading_the_batch_as_time():
    x = _ids().float()
    result = batch_independence(_ForgotBatchFirst(), (x, torch.zeros(3)))
    assert result.status == "fail"


def test_text_only_model_and_sizes_from_vocabulary_and_data(reviews):
    p = prepare(reviews[["review", "label"]], "label")
    assert p.preprocessor.n_tabular == 0
    model = _model(p)
    assert model.tabular is None and model(torch.from_numpy(p.X["dev"])).shape == (
        len(p.X["dev"]), 1)
    small, _ = text_sizes(20_000, 500)
    large, _ = text_sizes(20_000, 100_000)
    assert small <= 32 < large <= 128
    with pytest.raises(FullcycleError, match="unknown pooling"):
        TextEncoder(10, 4, 4, pooling="attention")


def test_gradient_clipping_is_on_for_recurrent_nets_and_said(reviews):
    p = prepare(reviews, "label")
    train = (p.X["train"], p.y["train"])
    result = fit(_model(p), train, loss="bce", epochs=1, progress=False)
    clip = [d for d in result.decisions if d["kind"] == "gradient_clipping"]
    assert clip and clip[0]["max_norm"] == RECURRENT_CLIP_NORM and "Pascanu" in clip[0]["reason"]
    off = fit(_model(p), train, loss="bce", epochs=1, progress=False, clip_norm=None)
    assert not [d for d in off.decisions if d["kind"] == "gradient_clipping"]
    mlp = fit(nn.Linear(p.preprocessor.n_features, 1), train, loss="bce", epochs=1,
              progress=False)
    assert not [d for d in mlp.decisions if d["kind"] == "gradient_clipping"]


def test_bundle_round_trip_predicts_what_the_model_in_memory_predicts(reviews, tmp_path):
    p = prepare(reviews, "label")
    model = _model(p)
    init_output_bias(model, "binary", p.y["train"])
    fit(model, (p.X["train"], p.y["train"]), loss="bce", epochs=2, progress=False)
    model.eval()
    save_bundle(tmp_path / "model", model, {"features": p.preprocessor.to_dict(),
                                            "target": p.target_encoding.to_dict()},
                "binary", {}, p.preprocessor.input_schema(), classes=p.classes)
    assert load_bundle(tmp_path / "model").architecture["class"] == "TextMLP"
    dev = p.frame_of("dev")
    served = Predictor.load(tmp_path / "model").predict_frame(dev)
    with torch.no_grad():
        memory = torch.sigmoid(model(torch.from_numpy(p.X["dev"]))).numpy().ravel()
    np.testing.assert_allclose(served["proba_1"].to_numpy(), memory, atol=1e-6)
    blank = dev.copy()
    blank["review"] = None  # missing texts at prediction time: their own case, not an error
    assert len(Predictor.load(tmp_path / "model").predict_frame(blank)) == len(dev)
    with pytest.raises(FullcycleError, match="missing column"):
        Predictor.load(tmp_path / "model").predict_frame(dev.drop(columns=["review"]))
