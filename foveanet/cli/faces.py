"""`foveanet faces detect|train-embedding|verify|evaluate`: face detection and open-set
verification."""
from __future__ import annotations

import argparse
import textwrap
from pathlib import Path

EXAMPLES = textwrap.dedent("""\
    examples:
      foveanet faces detect photo.jpg -o boxes.png            # CNN over an image pyramid, NMS
      foveanet faces detect builtin:astronaut -o boxes.png    # a photo scikit-image ships
      foveanet faces train-embedding --data builtin --loss arcface --out runs/arcface
      foveanet faces train-embedding --data lfw/ --loss triplet --size 32 --crop 0.5 --out runs/lfw
      foveanet faces verify runs/arcface a.png b.png          # similarity, same/different
      foveanet faces evaluate runs/arcface                    # ROC picture, EER, TAR@FAR=1e-2, rank-1
      foveanet faces evaluate runs/lfw --pairs lfw/pairs.txt  # on LFW's pairs file

    The detector is trained on scikit-image's 200 LFW face/non-face crops (25x25) plus
    patches of its face-free photos, once, and kept in ~/.cache/foveanet/faces/ (--model).
    builtin embedding data is a stand-in: Fashion-MNIST classes as "identities", six for
    training, the other four unseen until the test (no identity-labelled face set is
    reachable offline). A FOLDER is LFW-style, ROOT/person/image.jpg, people split disjointly.
    """)


def _formatter(prog):
    return argparse.RawDescriptionHelpFormatter(prog, max_help_position=32)


def register(sub) -> None:
    p = sub.add_parser("faces", help="face detection and open-set face verification",
                       description="Face/non-face CNN detector and metric-learning embeddings.",
                       epilog=EXAMPLES, formatter_class=_formatter)
    ss = p.add_subparsers(dest="faces_command", metavar="ACTION")
    p.set_defaults(func=lambda args: (p.print_help(), 0)[1])
    from foveanet.cli.args import fraction, positive_float, positive_int

    d = ss.add_parser("detect", help="find faces in a photo and draw boxes", epilog=EXAMPLES,
                      formatter_class=_formatter)
    d.add_argument("image", help="a photo (any format Pillow reads; 8/16-bit, grey or colour), "
                                 "or builtin:NAME for a scikit-image photo")
    d.add_argument("-o", "--out", default=None, help="PNG with the boxes drawn (default IMAGE_faces.png)")
    d.add_argument("--threshold", type=fraction, default=0.95, help="P(face) a window needs [0.95]")
    d.add_argument("--min-neighbors", type=positive_int, default=2,
                   help="overlapping windows a box needs, itself included [2]")
    d.add_argument("--min-face", type=positive_int, default=24, help="smallest face side in pixels [24]")
    d.add_argument("--model", default=None, help="detector weights: read, or trained and written when "
                                                 "missing [~/.cache/foveanet/faces/detector.safetensors]")
    d.set_defaults(func=run_detect)

    t = ss.add_parser("train-embedding", help="train an embedding CNN with a metric-learning loss",
                      epilog=EXAMPLES, formatter_class=_formatter)
    from foveanet.faces.embedding import DEFAULTS, LOSSES

    t.add_argument("--data", default="builtin", help="builtin (Fashion-MNIST stand-in) or an LFW-style FOLDER")
    t.add_argument("--loss", choices=LOSSES, default=DEFAULTS["loss"],
                   help="arcface, triplet (batch-hard), semi-hard (triplet), contrastive or softmax "
                        f"[{DEFAULTS['loss']}]")
    t.add_argument("--out", required=True, help="run directory to create")
    for flag, typ, hlp in (("steps", positive_int, "training steps"),
                           ("batch-size", positive_int, "images per step (every identity in each)"),
                           ("lr", positive_float, "peak learning rate (Adam, one-cycle)"),
                           ("dim", positive_int, "embedding size"),
                           ("width", positive_int, "channels of the first conv"),
                           ("size", positive_int, "image side the network sees"),
                           ("margin", float, "the loss's margin (ArcFace: radians) [per loss]"),
                           ("scale", positive_float, "ArcFace's scale s"),
                           ("per-identity", positive_int, "builtin: training images per identity"),
                           ("crop", fraction, "FOLDER: central share of each photo kept"),
                           ("seed", int, "seed of weights, splits and batches")):
        key = flag.replace("-", "_")
        t.add_argument(f"--{flag}", type=typ, default=None, help=f"{hlp} [{DEFAULTS[key]}]")
    t.add_argument("--quiet", action="store_true", help="no progress lines")
    t.set_defaults(func=run_train)

    v = ss.add_parser("verify", help="same identity? two images through a trained run")
    v.add_argument("run", help="a train-embedding run directory")
    v.add_argument("a")
    v.add_argument("b")
    v.set_defaults(func=run_verify)

    e = ss.add_parser("evaluate", help="open-set scores of a run: ROC, EER, TAR@FAR, rank-1")
    e.add_argument("run", help="a train-embedding run directory")
    e.add_argument("--pairs", default=None, help="an LFW pairs.txt to score instead of the held-out identities")
    e.add_argument("--root", default=None, help="the images of --pairs (default: its folder)")
    e.set_defaults(func=run_evaluate)


def _photo(spec: str):
    """(grey image, colour image for the picture, a name) of a file or builtin:NAME."""
    import numpy as np

    from foveanet.errors import CLIError
    from foveanet.faces.image import read_photo, to_grey

    if spec.startswith("builtin:"):
        import skimage.data

        name = spec.split(":", 1)[1]
        if not hasattr(skimage.data, name):
            raise CLIError(f"no scikit-image photo called {name!r} (try builtin:astronaut)")
        img = np.asarray(getattr(skimage.data, name)())
        return to_grey(img), img, name
    grey = read_photo(spec)
    return grey, grey, Path(spec).stem


def _detector(path):
    from foveanet.data.datasets import cache_dir
    from foveanet.faces.detector import face_net, train_detector
    from foveanet.train.checkpoint import load_weights, save_weights

    path = Path(path) if path else cache_dir("faces") / "detector.safetensors"
    if path.is_file():
        model = face_net(16)
        model.load_state_dict(load_weights(path))
        model.eval()
        return model
    print(f"training the face detector once (about a minute on 2 cores), then keeping it in {path}")
    model = train_detector(log=print)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_weights(model.state_dict(), path)
    return model


def run_detect(args) -> int:
    from foveanet.faces.detector import detect, draw_boxes

    grey, shown, name = _photo(args.image)
    model = _detector(args.model)
    boxes, scores = detect(model, grey, threshold=args.threshold, min_face=args.min_face,
                           min_neighbors=args.min_neighbors)
    out = Path(args.out) if args.out else Path(f"{name}_faces.png")
    draw_boxes(shown, boxes, scores, out)
    if len(boxes) == 0:
        print(f"no face found in {args.image} (no window reached P(face) >= {args.threshold} with "
              f"{args.min_neighbors} overlapping window(s)); the photo is written unmarked to {out}")
        return 0
    for (x0, y0, x1, y1), s in zip(boxes, scores):
        print(f"face at x {x0:.0f}-{x1:.0f}, y {y0:.0f}-{y1:.0f}  P(face) {s:.3f}")
    print(f"{len(boxes)} face(s); boxes drawn in {out}")
    return 0


def run_train(args) -> int:
    from foveanet.faces.embedding import train_embedding

    keys = ("data", "loss", "steps", "batch_size", "lr", "dim", "width", "size", "margin", "scale",
            "per_identity", "crop", "seed")
    m = train_embedding(args.out, quiet=args.quiet, **{k: getattr(args, k) for k in keys})
    _report(m["test"], args.out)
    return 0


def _report(t: dict, run) -> None:
    print(f"unseen identities ({t['identities']}, {t['images']} images, {t['pairs']} pairs): "
          f"EER {100 * t['eer']:.2f}%  TAR@FAR=1e-2 {100 * t['tar_at_far_1e-2']:.2f}%  "
          f"rank-1 {100 * t['rank1']:.1f}% (+-{100 * t['rank1_std']:.1f})")
    print(f"at the validation threshold: TAR {100 * t['tar_at_val_threshold']:.1f}%, "
          f"FAR {100 * t['far_at_val_threshold']:.2f}%; ROC in {Path(run) / 'roc.png'}")


def run_verify(args) -> int:
    from foveanet.faces.embedding import verify_pair

    r = verify_pair(args.run, args.a, args.b)
    word = "same identity" if r["same"] else "different identities"
    print(f"cosine similarity {r['similarity']:.4f} (threshold {r['threshold']:.4f}): {word}")
    return 0


def run_evaluate(args) -> int:
    from foveanet.faces.embedding import evaluate_embedding, evaluate_pairs

    if args.pairs:
        r = evaluate_pairs(args.run, args.pairs, args.root)
        print(f"{r['pairs']} pairs: EER {100 * r['eer']:.2f}%  TAR@FAR=1e-2 {100 * r['tar_at_far_1e-2']:.2f}%  "
              f"accuracy at the run's threshold {100 * r['accuracy_at_threshold']:.1f}%")
        return 0
    _report(evaluate_embedding(args.run)["test"], args.run)
    return 0
