"""The bare handler the mock is measured against: Starlette on uvicorn, uvloop, httptools, orjson; no checks.

It parses the request body and answers a fixed order document, the one the mock answers, on the
same stack the mock runs on (``mock_server.runner`` serves both, access log off).

    .venv/bin/python bench/_bare.py PORT ORDER_JSON_FILE
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from starlette.applications import Starlette  # noqa: E402
from starlette.requests import Request  # noqa: E402
from starlette.routing import Route  # noqa: E402

from mock_server.fastjson import JSONResponse  # noqa: E402
from mock_server.runner import serve_forever  # noqa: E402


def main() -> None:
    """Serve ``POST /api/order/get`` answering the order of the given file."""
    port, order_file = int(sys.argv[1]), sys.argv[2]
    order = json.loads(Path(order_file).read_text())

    async def get(request: Request) -> JSONResponse:
        await request.json()
        return JSONResponse(order)

    app = Starlette(routes=[Route("/api/order/get", get, methods=["POST"])])
    serve_forever(lambda url: app, host="127.0.0.1", port=port, log_level="error")


if __name__ == "__main__":
    main()
