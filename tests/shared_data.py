"""Where the data every developer and CI share lives: ``../shared`` beside the checkout
(as CI clones it), or wherever $FOVEANET_SHARED points."""
import os
from pathlib import Path

SHARED = Path(os.environ.get("FOVEANET_SHARED") or Path(__file__).resolve().parents[1].parent / "shared")
DEBTAGS = str(SHARED / "data" / "debtags-bookworm.jsonl.gz")
