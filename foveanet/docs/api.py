"""The API reference: which names are public, and one Markdown page per namespace for mkdocs.

    python -m foveanet.docs.api             # writes docs/api/*.md
    python -m foveanet.docs.api --check     # exit 1 if a page is stale or a public name
                                            # has no docstring of its own

A public name is one in its namespace's ``__all__`` (or, for a module without one, a class or
function defined there whose name has no leading underscore). Each page lists them with a
mkdocstrings ``:::`` block pointing at the module that defines the object, headed by the
public path (``foveanet.nn.Conv2d``, not ``foveanet.nn.modules.conv.Conv2d``), so the page
reads as the user imports. Constants (``PAD``, ``DEFAULTS``) and NumPy's dtypes re-exported
at the top level are listed in the page's table, not rendered.
"""
from __future__ import annotations

import argparse
import importlib
import inspect
import sys
from dataclasses import dataclass
from pathlib import Path

# (page file, title, the namespaces it documents, one line on what they are for)
PAGES = (
    ("tensor.md", "Tensors and autograd", ("foveanet",),
     "The `Tensor`, its creation functions, autograd switches, `gradcheck`, seeds and threads, "
     "`save`/`load` and `summary`: everything under `import foveanet as fn`."),
    ("nn.md", "foveanet.nn", ("foveanet.nn", "foveanet.nn.utils"),
     "Layers as `Module`s, with torch.nn's names, arguments and `state_dict` keys."),
    ("functional.md", "foveanet.nn.functional", ("foveanet.nn.functional",),
     "Every op as a function: its forward and hand-written backward, the formula in its "
     "docstring."),
    ("init.md", "foveanet.nn.init", ("foveanet.nn.init",),
     "Weight initialisation, in place, as torch.nn.init."),
    ("optim.md", "foveanet.optim", ("foveanet.optim", "foveanet.optim.lr_scheduler"),
     "Optimizers and learning-rate schedules."),
    ("models.md", "foveanet.models", ("foveanet.models",),
     "The classic networks, with torchvision's parameter counts and state_dict keys."),
    ("data.md", "foveanet.data", ("foveanet.data", "foveanet.data.text"),
     "Datasets, the DataLoader, batch transforms, and the text readers."),
    ("train.md", "foveanet.train", ("foveanet.train",),
     "The Trainer, its callbacks and the metrics."),
    ("concepts.md", "foveanet.concepts", ("foveanet.concepts",),
     "The lecture as functions: output sizes, parameter counts, receptive fields."),
    ("vision.md", "foveanet.vision", ("foveanet.vision",),
     "Classic image filters run through foveanet's own conv2d."),
    ("interop.md", "foveanet.interop", ("foveanet.interop", "foveanet.onnx"),
     "Weights in and out: PyTorch files without pickle, safetensors, ONNX."),
    ("text.md", "foveanet.text", ("foveanet.text",),
     "The text-classification pipeline (Kim CNN, XML-CNN)."),
    ("segmentation.md", "foveanet.segmentation", ("foveanet.segmentation",),
     "The segmentation pipeline (U-Net on composed scenes)."),
    ("faces.md", "foveanet.faces", ("foveanet.faces",),
     "Face detection on LFW crops and open-set verification with metric-learning losses."),
    ("ocr.md", "foveanet.ocr", ("foveanet.ocr",),
     "Optical character recognition: CRNN + CTC line reader, decoding and error rates."),
    ("distributed.md", "foveanet.distributed", ("foveanet.distributed",),
     "Data-parallel training on MPI: the process group, DistributedDataParallel, the sampler, "
     "SyncBatchNorm."),
    ("backend.md", "foveanet.backend", ("foveanet.backend",),
     "The array module, the kernel set, default dtype, random state and threads."),
    ("medical.md", "foveanet.medical", ("foveanet.medical",),
     "Medical volumes (NIfTI, DICOM, InVesalius) and the slice U-Net pipeline on one MRI and one CT."),
)


@dataclass(frozen=True)
class Entry:
    """One public name: where the user finds it and what it is."""
    namespace: str
    name: str
    obj: object

    @property
    def public_path(self) -> str:
        return f"{self.namespace}.{self.name}"

    @property
    def documented_at(self) -> str | None:
        """The defining path mkdocstrings renders, or None for a value (not rendered)."""
        if not (inspect.isclass(self.obj) or inspect.isfunction(self.obj)):
            return None
        module = getattr(self.obj, "__module__", "") or ""
        if not module.startswith("foveanet"):
            return None   # NumPy's dtypes, re-exported as fn.float32 and so on
        return f"{module}.{self.obj.__qualname__}"


def public_names(namespace: str) -> list:
    """The names a user imports from ``namespace``, in its ``__all__`` order."""
    module = importlib.import_module(namespace)
    names = getattr(module, "__all__", None)
    if names is None:
        names = sorted(n for n, o in vars(module).items()
                       if not n.startswith("_") and (inspect.isclass(o) or inspect.isfunction(o))
                       and getattr(o, "__module__", None) == module.__name__)
    return [n for n in names if n != "__version__"]


def entries(namespace: str) -> list:
    module = importlib.import_module(namespace)
    out = []
    for name in public_names(namespace):
        obj = getattr(module, name)
        if inspect.ismodule(obj):
            continue   # a submodule (foveanet.optim.lr_scheduler) has its own section
        out.append(Entry(namespace, name, obj))
    return out


def all_entries() -> list:
    return [e for _, _, spaces, _ in PAGES for space in spaces for e in entries(space)]


def own_doc(obj) -> str:
    """The object's own docstring (a class's, not its base's), cleaned; '' when it has none."""
    doc = obj.__dict__.get("__doc__") if inspect.isclass(obj) else obj.__doc__
    return inspect.cleandoc(doc) if doc else ""


def undocumented() -> list:
    """Public paths of classes and functions without a docstring of their own."""
    return [e.public_path for e in all_entries() if e.documented_at and not own_doc(e.obj)]


def _summary(obj) -> str:
    """The docstring's first line, for the page's table (mkdocstrings anchors each object
    at its defining path, so the table links there)."""
    doc = own_doc(obj)
    return doc.split("\n")[0].replace("|", "\\|") if doc else ""


def page(title: str, spaces: tuple, blurb: str) -> str:
    lines = [f"# {title}", "", blurb, ""]
    for space in spaces:
        rendered = [e for e in entries(space) if e.documented_at]
        values = [e for e in entries(space) if not e.documented_at]
        if len(spaces) > 1:
            lines += [f"## {space}", ""]
        level = 3 if len(spaces) > 1 else 2
        if rendered:
            lines += ["| name | what it is |", "| --- | --- |"]
            lines += [f"| [`{e.name}`](#{e.documented_at}) | {_summary(e.obj)} |" for e in rendered]
            lines.append("")
        if values:
            lines.append("Values: " + ", ".join(f"`{space}.{e.name}`" for e in values) + ".")
            lines.append("")
        for e in rendered:
            lines += [f"::: {e.documented_at}",
                      "    options:",
                      f"      heading: \"{e.public_path}\"",
                      f"      heading_level: {level}",
                      f"      toc_label: \"{e.name}\"",
                      ""]
    return "\n".join(lines).rstrip() + "\n"


def pages() -> dict:
    return {f"api/{file}": page(title, spaces, blurb) for file, title, spaces, blurb in PAGES}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m foveanet.docs.api", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if a page differs or a name is undocumented")
    parser.add_argument("--docs", type=Path, default=Path(__file__).resolve().parents[2] / "docs",
                        help="the docs folder (default: the checkout's docs/)")
    args = parser.parse_args(argv)
    missing = undocumented()
    if missing:
        print(f"{len(missing)} public names have no docstring: {', '.join(missing)}",
              file=sys.stderr)
    stale = []
    for rel, text in pages().items():
        path = args.docs / rel
        current = path.read_text(encoding="utf-8") if path.is_file() else None
        if current == text:
            continue
        stale.append(rel)
        if not args.check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    if args.check and stale:
        print(f"stale API pages (run python -m foveanet.docs.api): {', '.join(stale)}",
              file=sys.stderr)
    elif stale:
        print(f"wrote {', '.join(stale)}")
    return 1 if missing or (args.check and stale) else 0


if __name__ == "__main__":
    sys.exit(main())
