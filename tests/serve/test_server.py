"""The HTTP server: predictions equal `fullcycle predict`'s, every bad request gets its status
and one line, and a refused request changes nothing."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import tiny_bundles

ROWS = tiny_bundles.input_rows(tiny_bundles.task_frame("binary", seed=7), n=6)


def _served_lines(tmp_path) -> list[dict]:
    files = sorted((tmp_path / "served").glob("served-*.jsonl"))
    return [json.loads(line) for f in files for line in f.read_text().splitlines()]


@pytest.mark.parametrize("task", tiny_bundles.TASKS)
def test_served_predictions_equal_what_fullcycle_predict_writes(task, bundles, serve, cli,
                                                                tmp_path):
    frame = tiny_bundles.task_frame(task, seed=3).head(20)
    frame.loc[0, "kind"] = "never-seen"  # the unknown code, both ways
    data = tmp_path / "rows.csv"
    frame.to_csv(data, index=False)
    code, _, err = cli("predict", bundles[task], data, "--out", tmp_path / "p.csv")
    assert code == 0, err
    written = pd.read_csv(tmp_path / "p.csv")

    response = serve(bundles[task], runtime="torch").post(
        "/predict", json={"rows": tiny_bundles.input_rows(frame, n=20)})
    assert response.status_code == 200, response.text
    served = pd.DataFrame(response.json()["predictions"])
    assert list(served.columns) == list(written.columns)
    for column in written.columns:
        if column.startswith("proba_") or task == "regression":
            assert np.allclose(served[column], written[column], rtol=0, atol=1e-6), column
        else:
            assert served[column].astype(str).tolist() == written[column].astype(str).tolist()


def test_one_row_form_and_the_served_row_log(bundles, serve, tmp_path):
    client = serve(bundles["binary"])
    response = client.post("/predict", json={"row": ROWS[0]})
    assert response.status_code == 200
    (prediction,) = response.json()["predictions"]
    assert prediction["prediction"] in ("yes", "no")
    assert prediction["proba_no"] + prediction["proba_yes"] == pytest.approx(1.0)
    client.post("/predict", json={"rows": ROWS[1:4]})
    lines = _served_lines(tmp_path)
    assert [line["row"] for line in lines] == ROWS[:4]
    assert lines[0]["prediction"] == prediction
    assert lines[0]["request"] == response.headers["x-request-id"]


@pytest.mark.parametrize(("body", "status", "words"), [
    ({"rows": [{"x1": 1.0, "x2": 2.0}]}, 422, "row 0 lacks column 'kind'"),
    ({"rows": [ROWS[0], {**ROWS[0], "x2": "high"}]}, 422,
     "row 1, column 'x2': 'high' is not a number"),
    ({"row": {**ROWS[0], "kind": ["a", "b"]}}, 422, "column 'kind': a list is not a category"),
    ({"row": {**ROWS[0], "x1": {"v": 1}}}, 422, "column 'x1'"),
    ({"rows": []}, 422, '"rows" is empty'),
    ({"rows": {"x1": 1}}, 422, '"rows" is an object, not a list'),
    ({"rows": [3]}, 422, "row 0 is a number, not an object"),
    ({"data": [ROWS[0]]}, 422, 'not an object with "rows"'),
    ([ROWS[0]], 422, 'not an object with "rows"'),
])
def test_a_row_that_does_not_fit_the_schema_is_a_422_with_one_line(bundles, serve, tmp_path,
                                                                     body, status, words):
    client = serve(bundles["binary"])
    response = client.post("/predict", json=body)
    assert response.status_code == status
    message = response.json()["error"]
    assert words in message, message
    assert "\n" not in message and "; " in message  # the problem, then the fix
    assert _served_lines(tmp_path) == []


def test_extra_columns_are_ignored_and_named_in_a_warning_header(bundles, serve):
    client = serve(bundles["binary"])
    plain = client.post("/predict", json={"row": ROWS[0]}).json()
    response = client.post("/predict", json={"row": {**ROWS[0], "zeta": 1, "id": "u-7"}})
    assert response.status_code == 200
    assert response.json()["predictions"] == plain["predictions"]
    assert response.headers["warning"].startswith('299 fullcycle "')
    assert "id, zeta" in response.headers["warning"]
    assert response.json()["warnings"] == ["ignored column(s) the model does not use: id, zeta"]
    assert "warning" not in client.post("/predict", json={"row": ROWS[0]}).headers


def test_malformed_json_is_400(bundles, serve):
    response = serve(bundles["binary"]).post(
        "/predict", content=b'{"rows": [', headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"].startswith("the body is not valid JSON")


def test_bodies_and_row_counts_over_the_limits_are_413(bundles, serve):
    client = serve(bundles["binary"], max_body=2000, max_rows=3)
    big = json.dumps({"rows": ROWS * 20}).encode()
    response = client.post("/predict", content=big)
    assert response.status_code == 413 and "--max-body" in response.json()["error"]

    def chunks():  # no Content-Length: the limit applies while reading
        yield big[:1500]
        yield big[1500:]

    response = client.post("/predict", content=chunks())
    assert response.status_code == 413 and "over 2000 bytes" in response.json()["error"]
    response = client.post("/predict", json={"rows": ROWS[:4]})
    assert response.status_code == 413 and "4 rows" in response.json()["error"]
    assert "--max-rows" in response.json()["error"]
    assert client.post("/predict", json={"rows": ROWS[:3]}).status_code == 200


def test_bad_requests_leave_the_server_as_it_was(bundles, serve, tmp_path):
    client = serve(bundles["binary"])
    first = client.post("/predict", json={"rows": ROWS[:2]}).json()
    for body in (b"{", b"[]", json.dumps({"rows": [{"x1": "?"}]}).encode(), b"\xff\xfe"):
        assert client.post("/predict", content=body).status_code in (400, 422)
    metrics = client.get("/metrics").json()
    assert metrics["rows_predicted"] == 2 and metrics["rows_logged"] == 2
    assert metrics["requests"]["by_status"]["422"] + metrics["requests"]["by_status"]["400"] == 4
    assert len(_served_lines(tmp_path)) == 2
    assert client.post("/predict", json={"rows": ROWS[:2]}).json() == first


def test_token_is_required_everywhere_but_health(bundles, serve):
    client = serve(bundles["binary"], token="s3cret")
    for method, path in (("post", "/predict"), ("get", "/metadata"), ("get", "/metrics")):
        kwargs = {"json": {"row": ROWS[0]}} if method == "post" else {}
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "s3cret"}):
            response = getattr(client, method)(path, headers=headers, **kwargs)
            assert response.status_code == 401, (path, headers)
            assert response.headers["www-authenticate"] == "Bearer"
            assert "Authorization: Bearer" in response.json()["error"]
        ok = getattr(client, method)(path, headers={"Authorization": "Bearer s3cret"}, **kwargs)
        assert ok.status_code == 200, path
    assert client.get("/health").status_code == 200
    assert client.get("/docs").status_code == 404  # the schema is not public with a token


def test_unknown_routes_and_methods_are_one_line(bundles, serve):
    client = serve(bundles["binary"])
    assert client.get("/nowhere").status_code == 404
    assert "POST /predict" in client.get("/nowhere").json()["error"]
    response = client.get("/predict")
    assert response.status_code == 405 and "GET is not allowed" in response.json()["error"]


def test_metadata_describes_the_model(bundles, serve):
    meta = serve(bundles["multiclass"]).get("/metadata").json()
    assert meta["task"] == "multiclass"
    assert set(meta["classes"]) == {"low", "mid", "high"}
    assert meta["input_schema"]["kind"] == {"type": "category", "categories": ["a", "b", "c"]} \
        or meta["input_schema"]["kind"]["type"] == "category"
    assert meta["required_columns"] == ["x1", "x2", "kind"]
    assert meta["errors"] == {"dev": 0.5} and meta["metric"] == {"name": "accuracy"}
    assert len(meta["fingerprint"]) == 64 and meta["version"]["fullcycle"]
    assert meta["runtime"] == "torch" and meta["reference_rows"] == 144
    assert meta["output_columns"][0] == "prediction"


def test_metrics_count_requests_and_report_live_drift(bundles, serve):
    client = serve(bundles["binary"])
    client.post("/predict", json={"rows": ROWS[:2]})
    client.post("/predict", json={"rows": [{"x1": 1}]})
    metrics = client.get("/metrics").json()
    assert metrics["requests"]["by_route"]["POST /predict 200"] == 1
    assert metrics["requests"]["by_route"]["POST /predict 422"] == 1
    assert metrics["predict_latency"]["count"] == 1 and metrics["predict_latency"]["p99_ms"] > 0
    assert metrics["drift"]["status"] == "insufficient data"

    fresh = tiny_bundles.input_rows(tiny_bundles.task_frame("binary", n=300, seed=11), n=300)
    shifted = [{**row, "x2": row["x2"] + 9.0} for row in fresh[:150]]
    client.post("/predict", json={"rows": shifted[:100]})
    client.post("/predict", json={"rows": shifted[100:]})
    drift = client.get("/metrics").json()["drift"]
    assert drift["rows"] == 152 and "x2" in drift["drifted_columns"]
    assert "x1" not in drift["drifted_columns"]
    text = client.get("/metrics?format=prometheus").text
    assert 'fullcycle_requests_total{method="POST",path="/predict",status="200"} 3' in text
    assert "fullcycle_rows_predicted_total 152" in text


def test_the_openapi_page_describes_the_rows_the_model_takes(bundles, serve):
    doc = serve(bundles["binary"]).get("/openapi.json").json()
    body = doc["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]
    row = body["schema"]["properties"]["row"]
    assert row["required"] == ["x1", "x2", "kind"]
    assert {"type": "null"} in row["properties"]["x1"]["anyOf"]


def test_a_bug_during_prediction_is_a_500_with_one_line_and_the_server_goes_on(bundles,
                                                                               tmp_path):
    from fastapi.testclient import TestClient

    from fullcycle.serve.app import ServeConfig, create_app

    app = create_app(ServeConfig(bundle=str(bundles["binary"]), log_dir=str(tmp_path)))
    predictor = app.state.server.predictor
    real = predictor.predict_records
    with TestClient(app, raise_server_exceptions=False) as client:
        predictor.predict_records = lambda rows: 1 / 0
        response = client.post("/predict", json={"row": ROWS[0]})
        assert response.status_code == 500
        assert response.json()["error"].startswith("internal error (ZeroDivisionError)")
        predictor.predict_records = real
        assert client.post("/predict", json={"row": ROWS[0]}).status_code == 200
