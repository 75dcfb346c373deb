"""The explorer: a local web app that shows every number of a trained run's network.

``foveanet explore RUN`` serves ``create_app(open_run(RUN))`` with uvicorn on 127.0.0.1:
a single page (``static/``: plain JavaScript drawing on canvas and SVG, no build step)
over the JSON API under ``/api/`` (docs/guides/explorer.md lists the routes).

    runs.py          a run directory opened: model, test images, uploads, the caches
    analysis.py      one image through the network: maps, top-k, saliency, Grad-CAM, dot products
    api_*.py         one module per page: model, image, filters, training, playground
    segment.py, text.py   the pages of segmentation and text runs
    app.py           the Starlette app: routes, errors as 4xx JSON, static files
    server.py        finding or making a run, starting uvicorn
"""
from __future__ import annotations

__all__ = ["create_app", "open_run"]


def __getattr__(name):
    # Starlette loads only when the explorer is used
    if name == "create_app":
        from foveanet.explore.app import create_app

        return create_app
    if name == "open_run":
        from foveanet.explore.runs import open_run

        return open_run
    raise AttributeError(f"module 'foveanet.explore' has no attribute {name!r}")
