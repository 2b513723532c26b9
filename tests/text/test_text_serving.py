"""Text and multi-task bundles through the serving path (issue 13's predictor and server
schema, issue 15's models): table and row predictions agree, columns are as announced."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fullcycle.data.dataset import prepare
from fullcycle.errors import FullcycleError
from fullcycle.serve.predictor import Predictor
from fullcycle.serve.schema import RowSchema
from tests.text.conftest import trained_bundle
from tests.text.test_multitask import mixed_table


def _rows(frame: pd.DataFrame, columns: list[str], n: int = 6) -> list[dict]:
    inputs = frame[columns].head(n).astype(object)
    return inputs.where(inputs.notna(), None).to_dict("records")


def test_text_bundle_rows_predict_as_the_table_does(tmp_path, reviews):
    p = prepare(reviews, "label")
    predictor = Predictor.load(trained_bundle(tmp_path / "b", p))
    inputs = ["review", "age", "color"]
    assert set(predictor.preprocessor.used_columns) == set(inputs)
    table = predictor.predict_frame(reviews[inputs].head(6))
    rows = predictor.predict_records(_rows(reviews, inputs))
    assert list(table["prediction"]) == [r["prediction"] for r in rows]
    np.testing.assert_allclose(table["proba_1"], [r["proba_1"] for r in rows], rtol=1e-6)
    schema = RowSchema(predictor.preprocessor)
    assert "review" in schema.columns
    parsed = schema.parse(b'{"row": {"review": "great film", "age": 0.1, "color": "red"}}', 10)
    assert str(predictor.predict_records(parsed.rows)[0]["prediction"]) in ("0", "1")
    with pytest.raises(FullcycleError, match="missing column 'review'"):
        predictor.predict_records([{"age": 0.1, "color": "red"}])


def test_multitask_bundle_writes_the_columns_it_announces(tmp_path):
    frame = mixed_table()
    p = prepare(frame, "spam,topic,price")
    predictor = Predictor.load(trained_bundle(tmp_path / "b", p))
    table = predictor.predict_frame(frame[["x0", "x1"]].head(5))
    assert list(table.columns) == predictor.output_columns
    assert {"prediction_spam", "proba_topic_a", "prediction_price"} <= set(table.columns)
    rows = predictor.predict_records(_rows(frame, ["x0", "x1"], 5))
    np.testing.assert_allclose(table["prediction_price"],
                               [r["prediction_price"] for r in rows], rtol=1e-6)


def test_text_moves_only_on_a_text_table_and_no_tabular_body_on_text_only():
    from fullcycle.recipe.config import TrainConfig
    from fullcycle.recipe.moves import bias_moves, variance_moves

    table = TrainConfig(hidden=(8,), epochs=10)
    keys = [m.key for m in bias_moves(table, 1000) + variance_moves(table, 1000)]
    assert not any(k.startswith(("text-", "bidirectional")) for k in keys)
    assert "numeric-embedding:ple" in keys
    text_only = TrainConfig(hidden=(), epochs=10, text_embedding=32, text_hidden=32)
    keys = [m.key for m in bias_moves(text_only, 1000)]
    assert keys[:3] == ["text-wider:64,64", "text-layers:2", "bidirectional"]
    assert not any(k.startswith(("wider", "deeper", "numeric-embedding", "resnet"))
                   for k in keys)
    assert [m.key for m in variance_moves(text_only, 1000)][0] == "text-dropout:0.25"


@pytest.mark.parametrize("bidirectional", [False, True])
def test_a_text_bundle_exports_to_onnx_and_serves_the_same(tmp_path, reviews, bidirectional):
    from fullcycle.serve.export import export_onnx

    p = prepare(reviews, "label")
    bundle = trained_bundle(tmp_path / "b", p, epochs=1, bidirectional=bidirectional)
    inputs = reviews[["review", "age", "color"]].head(40)
    result = export_onnx(bundle, tmp_path / "model.onnx")  # packed (bi-LSTM) or not
    assert result.max_abs_diff <= 1e-4 and result.rows_checked > len(p.frame_of("train"))
    torch_side = Predictor.load(bundle, runtime="torch").predict_frame(inputs)
    onnx_side = Predictor.load(bundle, runtime="onnx").predict_frame(inputs)
    assert list(onnx_side["prediction"]) == list(torch_side["prediction"])
    np.testing.assert_allclose(onnx_side["proba_1"], torch_side["proba_1"], atol=1e-5)
