"""Pictures uploaded to ``POST /predict`` (``multipart/form-data``), for a bundle of pictures.

Every file part of the form is one picture (the field name does not matter: ``file``,
``files``, ``image`` …, in the order sent), as ``curl -F file=@cat.jpg`` or a browser form
sends them. The bytes are decoded with Pillow in memory (nothing is written to the server's
disk) and resized and normalized with the bundle's own `ImagePreprocessor`, so a served
prediction equals the one `fullcycle predict` gives for the same file. The form is parsed by
Starlette's `MultiPartParser` (python-multipart), from the body the server has already read
within its size limit.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import AsyncGenerator

import numpy as np
from starlette.datastructures import Headers, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from fullcycle.data.image_preprocess import ImagePreprocessor
from fullcycle.errors import FullcycleError
from fullcycle.serve.schema import RequestError

MULTIPART = "multipart/form-data"


def is_multipart(content_type: str | None) -> bool:
    return (content_type or "").split(";")[0].strip().lower() == MULTIPART


async def _once(body: bytes) -> AsyncGenerator[bytes, None]:
    yield body


async def read_pictures(body: bytes, headers: Headers, preprocessor: ImagePreprocessor,
                        max_files: int) -> tuple[list[dict], np.ndarray]:
    """(one row per picture — its file name, size and sha256 — and the network inputs
    float32 (n, C, H, W)) of the file parts of a multipart body; RequestError otherwise."""
    parser = MultiPartParser(headers, _once(body), max_files=max_files, max_fields=max_files,
                             max_part_size=len(body) + 1)
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise RequestError(400 if "Maximum number" not in exc.message else 413,
                           f"malformed multipart body ({exc.message}); send each picture as a "
                           "file part, e.g. curl -F file=@picture.png") from None
    uploads = [value for _, value in form.multi_items() if isinstance(value, UploadFile)]
    if not uploads:
        raise RequestError(422, "the form has no file part; send each picture as a file, "
                           "e.g. curl -F file=@picture.png")
    rows, pictures = [], []
    for i, upload in enumerate(uploads):
        data = await upload.read()
        name = upload.filename or f"part {i + 1}"
        try:
            pictures.append(preprocessor.decode(io.BytesIO(data)))
        except FullcycleError:
            raise RequestError(422, f"file {i + 1} ({name}) is not a picture Pillow can "
                               "decode; send a PNG, JPEG or another image file") from None
        rows.append({preprocessor.column: name, "bytes": len(data),
                     "sha256": hashlib.sha256(data).hexdigest()})
    return rows, np.stack(pictures)
