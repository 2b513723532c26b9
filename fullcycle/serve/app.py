"""The HTTP server of a model bundle (FastAPI): /predict, /health, /metadata, /metrics.

`POST /predict` takes ``{"rows": [{column: value, ...}, ...]}`` (or one ``{"row": {...}}``),
or, for a bundle of pictures, the pictures as file parts of a ``multipart/form-data`` upload
(`fullcycle.serve.uploads`), and answers ``{"predictions": [...]}``, each prediction holding
the columns `fullcycle predict` writes (``prediction`` and ``proba_<class>``, or the value in
the target's units). Every refusal is one line in ``{"error": ...}``: 400 malformed JSON or
multipart body, 401 no or wrong token, 404 / 405 unknown route or method, 413 body or row
count over the limits, 415 files sent to a table model, 422 a row (or a file) that does
not fit the input schema. A refused request changes nothing: nothing is logged, no state
moves but the request counters. The body is read and parsed here (not by FastAPI's own
validation) so that those limits apply before any work and every message is one line.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import time
import uuid
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from fullcycle import __version__
from fullcycle.errors import FullcycleError
from fullcycle.jsonutil import jsonable
from fullcycle.serve.predictor import Predictor
from fullcycle.serve.schema import ParsedRequest, RequestError, RowSchema
from fullcycle.serve.served_log import ServedLog
from fullcycle.serve.stats import ServerStats
from fullcycle.serve.uploads import is_multipart, read_pictures

MAX_BODY = 1 << 20  # 1 MiB
MAX_ROWS = 1000
CONFIG_ENV = "FULLCYCLE_SERVE_CONFIG"
logger = logging.getLogger("fullcycle.serve")


@dataclass(frozen=True)
class ServeConfig:
    """Everything one server process needs (JSON-able, so --workers can pass it on)."""

    bundle: str
    runtime: str = "auto"
    token: str | None = None
    max_body: int = MAX_BODY
    max_rows: int = MAX_ROWS
    log_dir: str | None = None  # None: no served-row log (library use only)

    def to_env(self) -> str:
        return json.dumps(asdict(self))


def _json(doc: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    try:
        body = json.dumps(doc, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError):  # numpy values or NaN: the slow, safe path
        body = json.dumps(jsonable(doc), separators=(",", ":"))
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def _error(status: int, message: str) -> Response:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return _json({"error": " ".join(message.split())}, status, headers)


class ModelServer:
    """One bundle loaded for serving: predictor, validation, log, counters."""

    def __init__(self, config: ServeConfig) -> None:
        self.config = config
        self.predictor = Predictor.load(config.bundle, runtime=config.runtime)
        self.schema = RowSchema(self.predictor.preprocessor)
        self.stats = ServerStats()
        self.log = ServedLog(config.log_dir) if config.log_dir else None
        bundle = self.predictor.bundle
        self.reference = bundle.reference() if bundle.reference_rows is not None else None
        pre = self.predictor.preprocessor
        self.kinds = {c.name: "numeric" for c in pre.numeric}
        self.kinds.update({c.name: "categorical" for c in pre.categorical_columns})
        self._token = config.token.encode() if config.token else None

    def authorized(self, request: Request) -> bool:
        if self._token is None:
            return True
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(),
                                                                  self._token)

    async def read_body(self, request: Request) -> bytes:
        """The body, refused with 413 past ``max_body`` before it is all read."""
        limit = self.config.max_body
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise RequestError(413, f"the body has {int(declared)} bytes, more than this "
                               f"server takes ({limit}); send fewer rows per request or start "
                               f"the server with a larger --max-body")
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise RequestError(413, f"the body is over {limit} bytes; send fewer rows per "
                                   f"request or start the server with a larger --max-body")
            chunks.append(chunk)
        return b"".join(chunks)

    async def predict(self, request: Request) -> Response:
        start = time.perf_counter()
        if not self.authorized(request):
            raise RequestError(401, "missing or wrong token; send the header "
                               "'Authorization: Bearer <token>' given to fullcycle serve")
        body = await self.read_body(request)
        if is_multipart(request.headers.get("content-type")):
            parsed, predictions = await self.predict_uploads(body, request)
        else:
            parsed = self.schema.parse(body, self.config.max_rows)
            try:
                predictions = self.predictor.predict_records(parsed.rows)
            except FullcycleError as exc:
                raise RequestError(422, str(exc)) from None
        request_id = uuid.uuid4().hex
        if self.log is not None:
            self.log.append(request_id, parsed.rows, predictions)
        self.stats.rows_predicted += len(parsed.rows)
        self.stats.recent_rows.extend(parsed.rows)
        headers = {"X-Request-Id": request_id}
        doc: dict[str, Any] = {"predictions": predictions}
        if parsed.ignored:
            text = "ignored column(s) the model does not use: " + ", ".join(parsed.ignored)
            doc["warnings"] = [text]
            # RFC 7234 warn-code 299 ("miscellaneous persistent warning"); headers are ASCII.
            headers["Warning"] = '299 fullcycle "' + json.dumps(text)[1:-1] + '"'
        response = _json(doc, headers=headers)
        self.stats.predict_latency.add(time.perf_counter() - start)
        return response

    async def predict_uploads(self, body: bytes, request: Request
                              ) -> tuple[ParsedRequest, list[dict]]:
        """Pictures sent as files of a multipart form (`fullcycle.serve.uploads`)."""
        if not self.predictor.is_images:
            raise RequestError(415, "this model takes table rows as JSON, not uploaded files; "
                               'send {"rows": [{column: value, ...}]}')
        rows, pictures = await read_pictures(body, request.headers,
                                             self.predictor.preprocessor, self.config.max_rows)
        return ParsedRequest(rows, []), self.predictor.predict_inputs(pictures)

    def metadata(self) -> dict[str, Any]:
        bundle, pre = self.predictor.bundle, self.predictor.preprocessor
        metrics = bundle.metrics or {}
        onnx = bundle.manifest.get("onnx")
        return {
            "task": bundle.task, "metric": metrics.get("metric"),
            "errors": metrics.get("errors"), "classes": list(self.predictor.target.classes),
            "targets": list(self.predictor.target.targets),
            "input_schema": bundle.input_schema, "required_columns": pre.used_columns,
            "output_columns": self.predictor.output_columns,
            "fingerprint": bundle.fingerprint,
            "version": {"fullcycle": __version__,
                        "bundle_fullcycle": bundle.manifest.get("fullcycle_version"),
                        "bundle_format": bundle.manifest.get("format"),
                        "created": bundle.manifest.get("created")},
            "runtime": self.predictor.runtime.name,
            "onnx": {k: onnx.get(k) for k in ("opset", "max_abs_diff")} if onnx else None,
            "reference_rows": bundle.reference_rows,
            "limits": {"max_body": self.config.max_body, "max_rows": self.config.max_rows},
            "served_log": str(self.log.path) if self.log else None,
        }

    def metrics(self) -> dict[str, Any]:
        drift = self.stats.drift_status(self.reference, self.predictor.bundle.reference_rows,
                                        self.kinds)
        return {**self.stats.to_dict(drift), "runtime": self.predictor.runtime.name,
                "worker_pid": os.getpid(),
                "rows_logged": self.log.rows_written if self.log else None}


def create_app(config: ServeConfig) -> FastAPI:
    """The FastAPI application serving ``config.bundle`` (loaded now, once)."""
    server = ModelServer(config)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> Any:
        yield
        if server.log is not None:
            server.log.close()

    hidden = config.token is not None  # with a token, the schema is only at /metadata
    app = FastAPI(title="fullcycle model server", version=__version__, lifespan=lifespan,
                  docs_url=None if hidden else "/docs", redoc_url=None,
                  openapi_url=None if hidden else "/openapi.json")
    app.state.server = server

    app.add_middleware(_CountRequests, stats=server.stats)

    @app.exception_handler(RequestError)
    async def refused(_: Request, exc: RequestError) -> Response:
        return _error(exc.status, exc.message)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            return _error(404, f"no route {request.url.path}; use POST /predict, GET /health, "
                          "GET /metadata or GET /metrics")
        if exc.status_code == 405:
            return _error(405, f"{request.method} is not allowed on {request.url.path}; see "
                          "GET /metadata for the routes")
        return _error(exc.status_code, str(exc.detail))

    @app.exception_handler(Exception)
    async def crashed(_: Request, exc: Exception) -> Response:
        logger.exception("prediction failed")
        return _error(500, f"internal error ({type(exc).__name__}); the server keeps running, "
                      "see its log")

    @app.post("/predict", openapi_extra={"requestBody": {"required": True, "content": {
        "application/json": {"schema": server.schema.json_schema()}}}})
    async def predict(request: Request) -> Response:
        """Predict rows: {"rows": [{column: value, ...}]} -> {"predictions": [...]}."""
        return await server.predict(request)

    @app.get("/health")
    async def health() -> Response:
        """Liveness and readiness (open without the token, for load balancers)."""
        return _json({"status": "ok", "runtime": server.predictor.runtime.name,
                      "fingerprint": server.predictor.bundle.fingerprint})

    @app.get("/metadata")
    async def metadata(request: Request) -> Response:
        """Task, metric, input schema, training errors, versions, fingerprint."""
        if not server.authorized(request):
            raise RequestError(401, "missing or wrong token; send 'Authorization: Bearer "
                               "<token>'")
        return _json(server.metadata())

    @app.get("/metrics")
    async def metrics(request: Request, format: str = "json") -> Response:
        """Request counts, latency percentiles, drift of the recent rows (?format=prometheus)."""
        if not server.authorized(request):
            raise RequestError(401, "missing or wrong token; send 'Authorization: Bearer "
                               "<token>'")
        doc = server.metrics()
        if format == "prometheus":
            return Response(_prometheus(doc), media_type="text/plain; version=0.0.4")
        if format != "json":
            raise RequestError(422, f"unknown format {format!r}; use json or prometheus")
        return _json(doc)

    return app


ROUTES = ("/predict", "/health", "/metadata", "/metrics", "/docs", "/openapi.json")


class _CountRequests:
    """Counts every response by method, route and status (a bare ASGI middleware: the
    decorator form costs a task switch per request, a tenth of a one-row prediction)."""

    def __init__(self, app: Any, stats: ServerStats) -> None:
        self.app, self.stats = app, stats

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500

        async def watch(message: dict) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            path = scope["path"] if scope["path"] in ROUTES else "other"
            self.stats.record(scope["method"], path, status)


def _prometheus(doc: dict[str, Any]) -> str:
    """The /metrics document in Prometheus' text exposition format."""
    lines = ["# TYPE fullcycle_requests_total counter"]
    for key, count in sorted(doc["requests"]["by_route"].items()):
        method, path, status = key.split(" ")
        lines.append(f'fullcycle_requests_total{{method="{method}",path="{path}",'
                     f'status="{status}"}} {count}')
    lines += ["# TYPE fullcycle_rows_predicted_total counter",
              f"fullcycle_rows_predicted_total {doc['rows_predicted']}",
              "# TYPE fullcycle_predict_latency_seconds summary"]
    latency = doc["predict_latency"]
    for q, key in ((0.5, "p50_ms"), (0.9, "p90_ms"), (0.99, "p99_ms")):
        if key in latency:
            lines.append(f'fullcycle_predict_latency_seconds{{quantile="{q}"}} '
                         f"{latency[key] / 1000:.6g}")
    drift = doc["drift"]
    if "share" in drift:
        lines += ["# TYPE fullcycle_drift_share gauge", f"fullcycle_drift_share {drift['share']}"]
    return "\n".join(lines) + "\n"


def app_from_environment() -> FastAPI:
    """uvicorn's factory for --workers N: each worker process builds its own app."""
    raw = os.environ.get(CONFIG_ENV)
    if not raw:
        raise FullcycleError(f"{CONFIG_ENV} is not set; start the server with fullcycle serve")
    return create_app(ServeConfig(**json.loads(raw)))


def default_log_dir(bundle: str | Path) -> Path:
    """Beside the bundle: RUN_DIR/model -> RUN_DIR/served."""
    return Path(bundle).resolve().parent / "served"
