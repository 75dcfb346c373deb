"""`foveanet explore`: a local web app over a trained run (model, images, filters, training,
the conv playground)."""
from __future__ import annotations

import textwrap

from foveanet.cli.main import help_formatter

EXAMPLES = textwrap.dedent("""\
    examples:
      foveanet explore runs/lenet                    # http://127.0.0.1:8000/
      foveanet explore runs/unet --port 8123          # a segmentation run
      foveanet explore                                # the newest run under ./runs, or a demo run

    The server binds 127.0.0.1 (this machine only) unless --host says otherwise; it serves
    the page and a JSON API under /api/ (docs/guides/explorer.md). Without RUN_DIR the
    newest run under ./runs is opened; when there is none, a short demo run (LeNet-5, 2,000
    Fashion-MNIST images, one epoch, ~10 s) is trained into runs/explore-demo first.
    """)


def register(sub) -> None:
    from foveanet.cli.args import positive_int, weights_arg
    from foveanet.train.run import WEIGHTS_HELP

    p = sub.add_parser("explore", help="a local web app showing every number of a trained run",
                       description="Serve the explorer: the run's model graph, an image through the "
                                   "network, filters, training curves and the conv playground.",
                       epilog=EXAMPLES, formatter_class=help_formatter)
    p.add_argument("run_dir", metavar="RUN_DIR", nargs="?", default=None,
                   help="a run directory (foveanet train / segment train / text train) "
                        "[the newest under ./runs, or a demo run]")
    p.add_argument("--port", type=positive_int, default=8000, help="TCP port [8000]")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to bind [127.0.0.1: this machine only; 0.0.0.0 opens it to the network]")
    p.add_argument("--weights", type=weights_arg, default="best", metavar="best|last|PATH", help=WEIGHTS_HELP)
    p.set_defaults(func=run)


def run(args) -> int:
    from foveanet.errors import CLIError
    from foveanet.explore.errors import ExploreError
    from foveanet.explore.server import demo_run, newest_run, serve

    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        raise CLIError("the explorer needs Starlette and uvicorn: pip install 'foveanet[explore]'") from None
    from foveanet.explore import create_app, open_run

    run_dir = args.run_dir
    if run_dir is None:
        run_dir = newest_run("runs")
        if run_dir is None:
            run_dir = demo_run()
        print(f"opening {run_dir}")
    try:
        run_obj = open_run(run_dir, args.weights)
    except ExploreError as e:
        raise CLIError(str(e)) from None
    serve(create_app(run_obj), host=args.host, port=args.port)
    return 0
