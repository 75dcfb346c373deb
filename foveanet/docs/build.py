"""Builds docs/lecture.md (and its pictures) from the templates and foveanet's own computations.

    python -m foveanet.docs.build                      # docs/lecture.md + docs/lecture_images/*.png
    python -m foveanet.docs.build --check              # exit 1 if docs/lecture.md is stale
    python -m foveanet.docs.build --no-images          # the Markdown only (fast)
    python -m foveanet.docs.build --run runs/demo-lenet5   # a run's accuracy and learned filters;
                                                       # written to RUN/lecture/ unless --out is given

The committed document is the build without a run: the same on every machine, so that
tests/docs/test_lecture.py can rebuild it and compare byte for byte.
"""
from __future__ import annotations

import argparse
import re
import string
import sys
import time
from pathlib import Path

from foveanet.docs import facts_backprop, facts_basics, facts_nets, figures, sections_a, sections_b

_PLACEHOLDER = re.compile(r"\$\{([_a-zA-Z][_a-zA-Z0-9]*)\}")


def repo_root() -> Path:
    """The checkout this foveanet was imported from (the folder holding docs/ and foveanet/)."""
    return Path(__file__).resolve().parents[2]


def default_output() -> Path:
    """docs/lecture.md of the checkout (an editable install, as `make docs` uses), else of the
    current directory."""
    root = repo_root()
    if not (root / "pyproject.toml").is_file():
        root = Path.cwd()
    return root / "docs" / "lecture.md"


def template() -> str:
    return "\n".join(sections_a.SECTIONS + sections_b.SECTIONS)


def values(run=None) -> tuple:
    """({placeholder: text}, the figures) for a build with or without a trained run."""
    out = {}
    figs = figures.plan(run)
    for part in (facts_basics.compute(run), facts_nets.compute(), facts_backprop.compute(),
                 figures.markdown(figs)):
        clash = set(out) & set(part)
        if clash:
            raise RuntimeError(f"docs: placeholder names computed twice: {sorted(clash)}")
        out.update(part)
    return out, figs


def fill(text: str, vals: dict) -> str:
    """Substitutes every ${name}; a placeholder without a value, or a value no placeholder uses,
    is an error (the latter is a computation the lecture forgot to show)."""
    used = set(_PLACEHOLDER.findall(text))
    missing, unused = sorted(used - set(vals)), sorted(set(vals) - used)
    if missing:
        raise KeyError(f"docs: no value computed for placeholders {missing}")
    if unused:
        raise KeyError(f"docs: computed values that no section shows: {unused}")
    return string.Template(text).substitute(vals)


def render(run=None) -> tuple:
    """(the Markdown text, the figures to draw). Leaves foveanet's global RNG as it found it
    (building the example layers draws random weights)."""
    import foveanet

    state = foveanet.get_rng_state()
    try:
        vals, figs = values(run)
    finally:
        foveanet.set_rng_state(state)
    md = fill(template(), vals)
    return md.rstrip("\n") + "\n", figs


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m foveanet.docs.build", description=__doc__.split("\n")[0])
    p.add_argument("--out", type=Path, help="the Markdown file to write (default docs/lecture.md, "
                   "or RUN/lecture/lecture.md with --run); its pictures go to lecture_images/ beside it")
    p.add_argument("--run", type=Path, help="a `foveanet train` run directory (metrics.json, "
                   "config.json, best.safetensors): its accuracy and learned filters go in")
    p.add_argument("--check", action="store_true", help="compare with the existing file instead of writing")
    p.add_argument("--no-images", action="store_true", help="write the Markdown only")
    args = p.parse_args(argv)
    if args.run is not None and not (args.run / "metrics.json").is_file():
        p.error(f"{args.run}: no metrics.json (a directory written by `foveanet train --out ...`?)")
    out = args.out or (args.run / "lecture" / "lecture.md" if args.run else default_output())

    t0 = time.perf_counter()
    md, figs = render(args.run)
    if args.check:
        same = out.is_file() and out.read_text(encoding="utf-8") == md
        print(f"{out}: {'up to date' if same else 'STALE: run `make docs`'}")
        return 0 if same else 1
    _write(out, md)
    print(f"wrote {out} ({len(md.splitlines())} lines, {time.perf_counter() - t0:.1f} s)")
    if not args.no_images:
        t1 = time.perf_counter()
        paths = figures.draw(figs, out.parent / figures.IMAGES)
        size = sum(q.stat().st_size for q in paths)
        print(f"wrote {len(paths)} pictures to {out.parent / figures.IMAGES} "
              f"({size / 1e6:.2f} MB, {time.perf_counter() - t1:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
