"""A model trained with a date column predicts the same through every path: a table, dict
rows, and the server's validated rows."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from torch import nn

import fullcycle as fc


@pytest.fixture
def dated_bundle(tmp_path):
    rng = np.random.default_rng(0)
    n = 200
    frame = pd.DataFrame({
        "x": rng.normal(size=n),
        "signup": (pd.Timestamp("2020-01-01")
                   + pd.to_timedelta(rng.integers(0, 900, n), unit="D")).strftime("%Y-%m-%d"),
    })
    frame["y"] = (frame["x"] > 0).astype(int)
    p = fc.prepare(frame, "y")
    net = nn.Sequential(nn.Linear(p.preprocessor.n_features, 1))
    return fc.save_bundle(tmp_path / "model", net, prepared=p)


def test_dict_rows_records_and_tables_agree_on_a_date_model(dated_bundle):
    from fullcycle.serve import Predictor

    predictor = Predictor.load(dated_bundle)
    rows = [{"x": 0.3, "signup": "2021-06-15"}, {"x": -1.0, "signup": "2020-02-01"}]
    table = predictor.predict_frame(pd.DataFrame(rows))
    records = pd.DataFrame(predictor.predict_records(rows))
    pd.testing.assert_frame_equal(table, records[table.columns], check_dtype=False)
    pd.testing.assert_frame_equal(table, fc.load_bundle(dated_bundle).predict(rows))


def test_the_server_schema_takes_a_date_as_text(dated_bundle):
    from fullcycle.serve import Predictor
    from fullcycle.serve.schema import RequestError, RowSchema

    schema = RowSchema(Predictor.load(dated_bundle).preprocessor)
    assert schema.columns == ["x", "signup"]
    parsed = schema.parse(json.dumps({"row": {"x": 1, "signup": "2021-01-01"}}).encode(), 10)
    assert parsed.rows == [{"x": 1.0, "signup": "2021-01-01"}]
    with pytest.raises(RequestError, match=r"column 'signup': .* is not a date"):
        schema.parse(json.dumps({"row": {"x": 1, "signup": 20210101}}).encode(), 10)
