"""The ceiling: a raw ASGI callable answering every request with a fixed JSON body.

Run under the same server and worker count as the API, it shows what this machine's
server stack can do at all for a body of the API's size; the API's figures are quoted
as a share of it. The body size comes from CEILING_BODY_BYTES.
"""

import json
import os
from typing import Any

_size = int(os.environ.get("CEILING_BODY_BYTES", "5000"))
_filler = "x" * max(0, _size - len(json.dumps({"items": ""})))
BODY = json.dumps({"items": _filler}).encode()
START = {
    "type": "http.response.start",
    "status": 200,
    "headers": [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(BODY)).encode()),
    ],
}
END = {"type": "http.response.body", "body": BODY}


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send(START)
    await send(END)
