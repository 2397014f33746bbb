"""The interactive API docs at /schema: Swagger UI served by the service itself, so the page works on an
intranet without internet access and under a Content-Security-Policy that allows only the service's own assets.

Swagger UI comes from the npm package swagger-ui-dist at an exact version, vendored under
backend/static/vendor/swagger-ui/<version>/ with the SHA-256 of each file beside it (`make vendor` fetches and
checks them again). The page itself loads those files and our start script, nothing else.
"""

from __future__ import annotations

import html
from functools import cache
from pathlib import Path
from typing import Any

from litestar import Request, Router, get
from litestar.datastructures import CacheControlHeader
from litestar.openapi.plugins import OpenAPIRenderPlugin
from litestar.static_files import create_static_files_router

SWAGGER_UI_VERSION = "5.35.0"
STATIC_DIR = Path(__file__).resolve().parents[1] / "static"
SWAGGER_UI_DIR = STATIC_DIR / "vendor" / "swagger-ui" / SWAGGER_UI_VERSION
START_SCRIPT = STATIC_DIR / "docs" / "swagger-init.js"
SWAGGER_UI_PATH = f"/schema/assets/swagger-ui/{SWAGGER_UI_VERSION}"
JAVASCRIPT = "text/javascript"


def swagger_ui_assets() -> Router:
    """The vendored files. Their path names the exact version, so browsers may keep them for a year."""
    return create_static_files_router(
        path=SWAGGER_UI_PATH,
        directories=[SWAGGER_UI_DIR],
        name="swagger_ui_assets",
        cache_control=CacheControlHeader(public=True, max_age=365 * 24 * 3600, immutable=True),
        include_in_schema=False,
    )


class OfflineSwaggerPlugin(OpenAPIRenderPlugin):
    """Swagger UI from SWAGGER_UI_PATH, started by a script file (no inline script, no CDN)."""

    def __init__(self, path: str = "/") -> None:
        super().__init__(path=path, favicon="", style="")

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        title = html.escape(openapi_schema["info"]["title"])
        openapi_url = html.escape(self.get_openapi_json_route(request))
        start_script = html.escape(request.app.route_reverse("swagger_ui_start_script"))
        return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="icon" type="image/png" href="{SWAGGER_UI_PATH}/favicon-32x32.png">
<link rel="stylesheet" href="{SWAGGER_UI_PATH}/swagger-ui.css">
<script src="{SWAGGER_UI_PATH}/swagger-ui-bundle.js" defer></script>
<script src="{start_script}" defer></script>
</head>
<body>
<div id="swagger-ui" data-openapi-url="{openapi_url}"></div>
</body>
</html>
""".encode()

    def receive_router(self, router: Router) -> None:
        router.register(
            get(
                "/swagger-init.js",
                name="swagger_ui_start_script",
                media_type=JAVASCRIPT,
                sync_to_thread=False,
                include_in_schema=False,
            )(_start_script)
        )


@cache
def _start_script() -> bytes:
    return START_SCRIPT.read_bytes()
