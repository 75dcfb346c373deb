"""The characters a recognizer reads, as class ids (0 is CTC's blank), and the scripts'
font and text sources.

Latin: the 95 printable ASCII characters. Odia: the Unicode Oriya block's letters, vowel
signs, digits and the danda, plus space and a few shared punctuation marks.

The CTC label unit is the Unicode code point of NFC text, for Odia too, not the grapheme
cluster: a cluster such as STA + VIRAMA + RA + U (four code points, one drawn shape) is four
labels. Clusters would make thousands of classes, most seen a few times in training; code
points are 98 classes that every cluster is built from. The price is order: the vowel sign E
(U+0B47) is drawn left of its consonant but comes after it in the label, which the
bidirectional LSTM head reads across (it sees both sides of every frame). NFC composes the
two-part signs (U+0B47 U+0B3E -> O, U+0B4B), so one spelling is one label sequence.
"""
from __future__ import annotations

import unicodedata

from foveanet.errors import UserError

__all__ = ["Alphabet", "UnknownCharacter", "LATIN", "ODIA", "SCRIPTS", "alphabet_for"]


class UnknownCharacter(UserError, ValueError):
    """A label holds a character outside the recognizer's alphabet."""


class Alphabet:
    """Characters <-> class ids for CTC: id 0 is the blank, character k has id k + 1.

    Args:
        chars: the characters, in id order (duplicates are an error).
        name: the script's name, used in messages.

    Example::

        >>> from foveanet.ocr.alphabet import Alphabet
        >>> a = Alphabet("abc", "demo")
        >>> a.encode("cab"), a.decode([3, 1, 2]), len(a)
        ([3, 1, 2], 'cab', 4)
    """

    def __init__(self, chars: str, name: str = "custom"):
        if len(set(chars)) != len(chars):
            raise ValueError(f"alphabet {name}: characters repeat")
        self.chars, self.name = chars, name
        self.index = {c: i + 1 for i, c in enumerate(chars)}

    def __len__(self) -> int:
        """Classes including the blank."""
        return len(self.chars) + 1

    def encode(self, text: str, where: str = "label") -> list:
        bad = sorted({c for c in text if c not in self.index})
        if bad:
            shown = ", ".join(repr(c) + f" (U+{ord(c):04X})" for c in bad[:5])
            raise UnknownCharacter(f"{where}: {shown} not in the {self.name} alphabet "
                                   f"({len(self.chars)} characters) in {text!r}")
        return [self.index[c] for c in text]

    def decode(self, ids) -> str:
        return "".join(self.chars[i - 1] for i in ids if 0 < i <= len(self.chars))


LATIN = Alphabet("".join(chr(c) for c in range(32, 127)), "latin")
# the Oriya block's assigned code points (letters, vowel signs, virama, digits, signs)
_ODIA_BLOCK = [chr(c) for c in range(0x0B01, 0x0B78) if unicodedata.name(chr(c), "")]
ODIA = Alphabet(" " + "".join(_ODIA_BLOCK) + "\u0964.,?!-", "odia")
SCRIPTS = {"latin": LATIN, "odia": ODIA}


def alphabet_for(script: str) -> Alphabet:
    if script not in SCRIPTS:
        raise UserError(f"unknown script {script!r}: expected one of {', '.join(SCRIPTS)}")
    return SCRIPTS[script]
