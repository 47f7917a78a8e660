"""What a search finds: a query's words, as terms the databases' full-text indexes answer.

A prompt matches a query when it matches every word of it (words are split at white space,
and compared without regard to case):

* A *plain word* (letters, digits and underscores only, at least three of them, and not one
  of the index's stop words such as "the") matches a prompt that has a word beginning with
  it: ``light`` finds "Lighthouse at dawn". The full-text index answers these (MariaDB's
  InnoDB FULLTEXT in boolean mode, SQLite's FTS5), so they are fast however many images
  there are.
* Any other word (punctuation, quotes, ``%``, ``_`` on its own, emoji, scripts written
  without spaces, one or two letters, a stop word) must appear in the prompt exactly as
  written, case aside: ``50%`` finds "50% off" and not "500". Its plain parts, when they
  start a word, still narrow the search through the index first.

Both engines see only the terms built here (each a run of letters, digits and underscores),
never the user's text, so no query can be a syntax error in either engine.
``matches`` is the rule in Python, for the fakes and the tests.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from pixyproxy_cli.core.exceptions import InputValidationError

MAX_SEARCH_LENGTH = 500
MAX_SEARCH_WORDS = 16

_SPACE = "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
"""What separates words: Unicode's White_Space, the ``\\s`` of every regex engine the API's
schema meets (Python's own ``str.split`` also splits at U+001C-U+001F; this does not)."""
_WORD = f"[^{_SPACE}\x00]+"
SEARCH_PATTERN = (
    f"^[{_SPACE}]*{_WORD}(?:[{_SPACE}]+{_WORD}){{0,{MAX_SEARCH_WORDS - 1}}}[{_SPACE}]*$"
)
"""A valid query as a regular expression (for the API's schema): 1 to 16 words, no NUL."""
MIN_INDEXED_LENGTH = 3
"""InnoDB's default ``innodb_ft_min_token_size``: shorter words are not in its index."""
MAX_INDEXED_LENGTH = 84
"""InnoDB's ``innodb_ft_max_token_size``: longer words are not in its index."""

_INNODB_STOP_WORDS = (
    "a about an are as at be by com de en for from how i in is it la of on or that the this "
    "to was what when where who will with und www"
)
STOP_WORDS = frozenset(_INNODB_STOP_WORDS.split())
"""InnoDB's default stop words (``INFORMATION_SCHEMA.INNODB_FT_DEFAULT_STOPWORD``): never in
its index, so they are matched as written, on every backend alike."""

# Scripts that separate words with spaces, beyond those of cased letters: the index splits
# them into words as it does Latin. Others (Han, kana, Thai, ...) run words together.
_SPACED_OTHER_LETTERS = ((0x0590, 0x06FF), (0xAC00, 0xD7AF))  # Hebrew, Arabic; Hangul


_SEPARATORS = re.compile(f"[{_SPACE}]+")


def _indexable(char: str) -> bool:
    """Whether both indexes treat ``char`` as part of a word and split words around it."""
    if char == "_":
        return True
    category = unicodedata.category(char)
    if category in ("Lu", "Ll", "Lt", "Lm", "Nd"):
        return True
    if category == "Lo":
        code = ord(char)
        return any(low <= code <= high for low, high in _SPACED_OTHER_LETTERS)
    return False


def _is_word_char(char: str) -> bool:
    """Whether ``char`` continues a word in a prompt (so a word cannot start after it)."""
    return char == "_" or char == "'" or char.isalnum() or unicodedata.category(char)[0] == "M"


@dataclass(frozen=True)
class SearchTerms:
    """A parsed query.

    ``prefixes`` (lower case) must each begin a word of the prompt, and ``literals`` (lower
    case) must each appear in it.
    """

    text: str
    prefixes: tuple[str, ...]
    literals: tuple[str, ...]


def _usable_prefix(run: str) -> bool:
    return MIN_INDEXED_LENGTH <= len(run) <= MAX_INDEXED_LENGTH and run not in STOP_WORDS


def parse_search(text: str) -> SearchTerms:
    """The terms of a search query.

    Raises InputValidationError for a query that is blank, has a NUL, or is longer than
    500 characters or 16 words.
    """
    if not isinstance(text, str):
        raise InputValidationError("search text must be text")
    if "\x00" in text:
        raise InputValidationError("search text must not contain NUL characters")
    if len(text) > MAX_SEARCH_LENGTH:
        raise InputValidationError(f"search text must be at most {MAX_SEARCH_LENGTH} characters")
    split = [word for word in _SEPARATORS.split(text) if word]
    if not split:
        raise InputValidationError("search text must not be blank")
    if len(split) > MAX_SEARCH_WORDS:
        raise InputValidationError(f"search text must be at most {MAX_SEARCH_WORDS} words")
    words = list(dict.fromkeys(word.lower() for word in split))
    prefixes: list[str] = []
    literals: list[str] = []
    for word in words:
        if all(_indexable(char) for char in word) and _usable_prefix(word):
            prefixes.append(word)
            continue
        literals.append(word)
        # Parts of the word that begin a word in any prompt that contains it narrow the
        # search through the index: "(lighthouse)" -> lighthouse, "e-mail" -> mail, but
        # not "n" or "roll" of "rock'n'roll" (an apostrophe joins words in some parsers).
        for match in re.finditer(r"\w+", word):
            run, start = match.group(), match.start()
            if start and (word[start - 1] == "'" or _is_word_char(word[start - 1])):
                continue  # not the start of a word in the prompt
            if all(_indexable(char) for char in run) and _usable_prefix(run):
                prefixes.append(run)
    return SearchTerms(text, tuple(dict.fromkeys(prefixes)), tuple(literals))


def matches(prompt: str, terms: SearchTerms) -> bool:
    """Whether ``prompt`` matches ``terms``: the rule the databases' queries implement."""
    lowered = prompt.lower()
    words = {word for word in re.findall(r"\w+", _fold(lowered))}
    for prefix in terms.prefixes:
        folded = _fold(prefix)
        if not any(word.startswith(folded) for word in words):
            return False
    return all(literal in lowered for literal in terms.literals)


def _fold(text: str) -> str:
    """``text`` without diacritics, as both indexes compare words."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if unicodedata.category(char)[0] != "M")
