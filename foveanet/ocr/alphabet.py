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

__all__ = ["Alphabet", "ConjunctAlphabet", "UnknownCharacter", "LATIN", "ODIA", "ODIA_CONJUNCT", "SCRIPTS",
           "LABELS", "alphabet_for"]


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


class ConjunctAlphabet(Alphabet):
    """An alphabet whose labels are the code points, except that a virama with the consonant
    after it (the subjoined form, drawn below or beside the consonant before it) is one
    label, and so is RA + virama opening a cluster (the reph, drawn as a mark above the next
    consonant). Texts stay code points: ``decode`` writes each label's code points, so
    errors are counted on the same NFC text as with ``Alphabet``.

    Why: a conjunct (C + VIRAMA + C, four or five code points with a vowel sign) is drawn in
    the columns of one stacked glyph, and CTC needs a frame per label; the subjoined and reph
    labels halve the labels of those columns.

    Args:
        base: the code-point alphabet (its characters, in id order, come first).
        consonants: the characters that take a subjoined form.
        virama: the sign that joins them.
        ra: the consonant whose virama form before a consonant is the reph.
        name: the alphabet's name.

    Example::

        >>> from foveanet.ocr.alphabet import ConjunctAlphabet, Alphabet
        >>> a = ConjunctAlphabet(Alphabet("krm+", "demo"), "krm", "+", "r", "demo")
        >>> a.tokenize("kr+m"), a.tokenize("k+rm"), a.tokenize("r+m+"), len(a)
        (['k', 'r+', 'm'], ['k', '+r', 'm'], ['r+', 'm', '+'], 9)
        >>> a.decode(a.encode("kr+m"))
        'kr+m'
    """

    def __init__(self, base: Alphabet, consonants: str, virama: str, ra: str, name: str):
        super().__init__(base.chars, name)
        self.consonants, self.virama, self.ra = set(consonants), virama, ra
        self.tokens = list(base.chars) + [virama + c for c in consonants] + [ra + virama]
        self.token_index = {t: i + 1 for i, t in enumerate(self.tokens)}

    def __len__(self) -> int:
        return len(self.tokens) + 1

    def tokenize(self, text: str) -> list:
        """``text`` as label strings: a reph is RA + virama before a consonant where the RA
        is not itself subjoined (no virama before it); a subjoined form is a virama before a
        consonant; everything else is one code point."""
        out, i, n, v = [], 0, len(text), self.virama
        while i < n:
            c = text[i]
            nxt = text[i + 1] if i + 1 < n else ""
            if c == self.ra and nxt == v and i + 2 < n and text[i + 2] in self.consonants and (i == 0 or text[i - 1] != v):
                out.append(c + v)
                i += 2
            elif c == v and nxt in self.consonants:
                out.append(c + nxt)
                i += 2
            else:
                out.append(c)
                i += 1
        return out

    def encode(self, text: str, where: str = "label") -> list:
        super().encode(text, where)   # the one-line error for a character outside the alphabet
        return [self.token_index[t] for t in self.tokenize(text)]

    def decode(self, ids) -> str:
        return "".join(self.tokens[i - 1] for i in ids if 0 < i <= len(self.tokens))


LATIN = Alphabet("".join(chr(c) for c in range(32, 127)), "latin")
# the Oriya block's assigned code points (letters, vowel signs, virama, digits, signs)
_ODIA_BLOCK = [chr(c) for c in range(0x0B01, 0x0B78) if unicodedata.name(chr(c), "")]
ODIA = Alphabet(" " + "".join(_ODIA_BLOCK) + "\u0964.,?!-", "odia")
# KA..HA, RRA, RHA, YYA, WA: the consonants that take a subjoined form after the virama
_ODIA_CONSONANTS = "".join(c for c in _ODIA_BLOCK if unicodedata.name(c).startswith("ORIYA LETTER")
                           and (0x0B15 <= ord(c) <= 0x0B39 or ord(c) in (0x0B5C, 0x0B5D, 0x0B5F, 0x0B71)))
ODIA_CONJUNCT = ConjunctAlphabet(ODIA, _ODIA_CONSONANTS, "\u0b4d", "\u0b30", "odia")
SCRIPTS = {"latin": LATIN, "odia": ODIA}
# label units per script beside the code points ("chars")
LABELS = {("odia", "conjuncts"): ODIA_CONJUNCT}


def alphabet_for(script: str, labels: str = "chars") -> Alphabet:
    """The script's alphabet with ``labels`` as its label unit: "chars" (code points) or,
    for Odia, "conjuncts" (``ConjunctAlphabet``)."""
    if script not in SCRIPTS:
        raise UserError(f"unknown script {script!r}: expected one of {', '.join(SCRIPTS)}")
    if labels == "chars" or labels is None:
        return SCRIPTS[script]
    if (script, labels) not in LABELS:
        raise UserError(f"labels {labels!r} are not defined for {script}: expected chars"
                        + "".join(f" or {lb}" for s, lb in LABELS if s == script))
    return LABELS[(script, labels)]
