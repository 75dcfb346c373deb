"""The explorer's ASGI app: the single-page front end (``static/``) and the JSON API under
``/api/``.

Why Starlette under uvicorn: the API is a dozen JSON routes over NumPy work, so a thin ASGI
toolkit is all it needs (Starlette: routing, static files, a test client; ~1 MB with its one
dependency, anyio); FastAPI would add pydantic and its validation layer for no page that
needs them, and uvicorn is the reference ASGI server. Heavy work (the network) runs in the
thread pool, so one slow image never blocks the other requests.

Errors: a request the explorer cannot answer (unknown layer or image, a non-image or
oversized upload, a run missing files, a path outside the assets) gets a 4xx with
``{"error": message}``; nothing else is served than the assets and the run directory's own
files.
"""
from __future__ import annotations

from pathlib import Path

from foveanet.explore.errors import ExploreError, bad_request, not_found
from foveanet.explore.runs import MAX_UPLOAD_BYTES

__all__ = ["create_app", "STATIC"]

STATIC = Path(__file__).parent / "static"
# run-directory files the page may fetch (its pictures and numbers)
RUN_FILES = {".png", ".json"}
_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
          ".css": "text/css; charset=utf-8", ".png": "image/png", ".json": "application/json",
          ".svg": "image/svg+xml"}


def _inside(root: Path, rel: str) -> Path:
    """``root / rel`` when that is a file inside ``root`` (no ``..``, no link out), else 404."""
    root = root.resolve()
    try:  # is_file() too: a name past the file system's limit raises ENAMETOOLONG there
        path = (root / rel).resolve()
        inside = ".." not in Path(rel).parts and path.is_relative_to(root) and path.is_file()
    except (OSError, ValueError):
        inside = False
    if not inside:
        raise not_found(f"no file {rel!r}")
    return path


def _int(request, name: str, default=None, lo=None, hi=None) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        if default is None:
            raise bad_request(f"missing query parameter {name!r} (an integer)")
        return default
    try:
        v = int(raw)
    except ValueError:
        raise bad_request(f"{name} must be an integer, got {raw!r}") from None
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        raise bad_request(f"{name} must be in {lo}..{hi}, got {v}")
    return v


def create_app(run=None, run_error: str | None = None):
    """The Starlette app serving ``run`` (an object from ``explore.runs.open_run``).

    ``run`` None serves the pages that need no run (the conv playground) and answers the
    others with 404 and ``run_error``."""
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.exceptions import HTTPException
    from starlette.responses import FileResponse, JSONResponse
    from starlette.routing import Route

    from foveanet.errors import UserError
    from foveanet.explore import api_filters, api_image, api_model, api_playground, api_training

    def need_run(page: str = ""):
        if run is None:
            raise not_found(run_error or "no run is open: start with `foveanet explore RUN_DIR`")
        if page and page not in run.pages:
            raise not_found(f"this {run.kind} run has no {page} page (pages: {', '.join(run.pages)})")
        return run

    def api(fn, page=""):
        async def endpoint(request):
            r = need_run(page) if page != "playground" else run
            return JSONResponse(await run_in_threadpool(fn, r, request))
        return endpoint

    async def index(request):
        return FileResponse(STATIC / "index.html", media_type=_TYPES[".html"])

    async def static(request):
        path = _inside(STATIC, request.path_params["path"])
        return FileResponse(path, media_type=_TYPES.get(path.suffix, "application/octet-stream"))

    async def run_file(request):
        rel = request.path_params["path"]
        path = _inside(need_run().dir, rel)
        if path.suffix not in RUN_FILES:
            raise not_found(f"{rel!r}: the explorer serves only a run's {', '.join(sorted(RUN_FILES))} files")
        return FileResponse(path, media_type=_TYPES[path.suffix])

    async def upload(request):
        r = need_run("image")
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > MAX_UPLOAD_BYTES + 64 * 1024:
            raise ExploreError(f"the upload is {int(declared) / 1e6:.1f} MB; the limit is "
                               f"{MAX_UPLOAD_BYTES // (1024 * 1024)} MB", 413)
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_UPLOAD_BYTES + 64 * 1024:
                raise ExploreError(f"the upload is over the {MAX_UPLOAD_BYTES // (1024 * 1024)} MB limit", 413)
        data = bytes(body)
        if request.headers.get("content-type", "").startswith("multipart/form-data"):
            request._body = data       # form() parses the bytes already read
            form = await request.form()
            f = form.get("file")
            if f is None or not hasattr(f, "read"):
                raise bad_request("expected the image in a form field named 'file'")
            data = await f.read()
        inv = request.query_params.get("invert")
        invert = None if inv in (None, "", "auto") else inv in ("1", "true", "yes")
        image_id = await run_in_threadpool(r.upload, data, invert)
        return JSONResponse(await run_in_threadpool(api_image.image_overview, r, image_id))

    def q(request, name, default=""):
        return request.query_params.get(name, default)

    routes = [
        Route("/", index),
        Route("/static/{path:path}", static),
        Route("/api/run", api(lambda r, req: _run_info(r))),
        Route("/api/run/files/{path:path}", run_file),
        Route("/api/model", api(lambda r, req: api_model.model_graph(r), "model")),
        Route("/api/images", api(lambda r, req: api_image.test_images(r, _int(req, "count", 24, 1, 200)),
                                 "image"), methods=["GET"]),
        Route("/api/images", upload, methods=["POST"]),
        Route("/api/images/{image}", api(lambda r, req: api_image.image_overview(
            r, req.path_params["image"], _int(req, "k", 5, 1, 100)), "image")),
        Route("/api/images/{image}/layers/{layer}", api(lambda r, req: api_image.layer_maps(
            r, req.path_params["image"], req.path_params["layer"], _int(req, "start", 0, 0),
            _int(req, "count", api_image.DEFAULT_MAPS, 1, 4096)), "image")),
        Route("/api/images/{image}/layers/{layer}/pixel", api(lambda r, req: api_image.pixel(
            r, req.path_params["image"], req.path_params["layer"], _int(req, "c", 0, 0),
            _int(req, "y", lo=0), _int(req, "x", lo=0)), "image")),
        Route("/api/filters", api(lambda r, req: api_filters.learned(r), "filters")),
        Route("/api/filters/classic/{image}", api(lambda r, req: api_filters.classic(
            r, req.path_params["image"]), "filters")),
        Route("/api/training", api(lambda r, req: api_training.training(r), "training")),
        Route("/api/training/confused", api(lambda r, req: api_training.confused(r), "training")),
        Route("/api/playground", api(lambda r, req: api_playground.playground(
            preset=q(req, "preset"), n=_int(req, "n", 6, 1, 32), f=_int(req, "f", 3, 1, 11),
            p=_int(req, "p", 0, 0, 10), s=_int(req, "s", 1, 1, 8), d=_int(req, "d", 1, 1, 5),
            cin=_int(req, "cin", 1, 1, 64), cout=_int(req, "cout", 1, 1, 512), op=q(req, "op", "conv"),
            seed=_int(req, "seed", 0, 0)), "playground")),
    ]
    for extra in getattr(run, "routes", lambda: [])():
        path, fn, page = extra
        routes.append(Route(path, api(fn, page)))

    async def explore_error(request, exc):
        return JSONResponse({"error": str(exc)}, status_code=exc.status)

    async def user_error(request, exc):
        return JSONResponse({"error": str(exc)}, status_code=422)

    async def http_error(request, exc):
        detail = {404: f"no such page or API route: {request.url.path}",
                  405: f"{request.method} is not allowed on {request.url.path}"}.get(exc.status_code, exc.detail)
        return JSONResponse({"error": detail}, status_code=exc.status_code)

    async def bug(request, exc):   # a bug of ours: a message, not a traceback page
        return JSONResponse({"error": f"internal error: {type(exc).__name__}: {exc}"}, status_code=500)

    app = Starlette(routes=routes, exception_handlers={
        ExploreError: explore_error, UserError: user_error, HTTPException: http_error, Exception: bug})
    app.state.run = run
    return app


def _run_info(run) -> dict:
    info = {"kind": run.kind, "dir": str(run.dir), "name": run.dir.name, "pages": list(run.pages)}
    info.update(run.info() if hasattr(run, "info") else {
        "model": run.cfg.get("model"), "dataset": run.cfg.get("dataset"), "classes": run.classes,
        "input_shape": list(run.input_shape), "weights": Path(run.weights).name})
    return info
