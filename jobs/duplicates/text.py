"""Turn an issue's title and body into the tokens and text retrieval compares, dropping markup noise."""

from __future__ import annotations

import re

TITLE_WEIGHT = 2
"""Title tokens count this many times: a title says what the report is about more densely than its body."""
MAX_BODY_CHARS = 20_000
"""Bodies past this are cut before tokenising (logs pasted whole add noise, not meaning)."""
MAX_FRAMES = 8
"""Stack frames kept per trace: the top frames name the failing code; the rest repeat the framework."""
EMBED_BODY_CHARS = 1_500
"""Body characters given to the embedding model (it reads 256 word pieces at most anyway)."""

STOPWORDS = frozenset(
    """
    a about above after again against all also am an and any are as at be because been before being
    below between both but by can could did do does doing done down during each few for from further
    had has have having he her here hers him his how i if in into is it its itself just me more most
    my no nor not now of off on once only or other our out over own same she should so some such
    than that the their them then there these they this those through to too under until up very was
    we were what when where which while who whom why will with would you your yours get got still
    however etc eg ie e g see seems seem like using use used one two please thanks thank hi hello
    """.split()  # noqa: SIM905
)

_URL = re.compile(r"https?://\S+|www\.\S+")
_FENCE = re.compile(r"```.*?```|~~~.*?~~~", re.S)
_FRAME = re.compile(r"^\s*at\s+([\w$.<>]+)\(.*\)\s*$")
_MORE = re.compile(r"^\s*\.\.\.\s*\d+\s+more\s*$")
_HEX = re.compile(r"\b0x[0-9a-f]+\b|\b[0-9a-f]{12,}\b", re.I)
_MARKUP = re.compile(r"\{(?:code|noformat|quote|panel)[^}]*\}|<!--.*?-->|!\[[^\]]*\]\([^)]*\)", re.S)
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_]*(?:[.:#][A-Za-z_][A-Za-z0-9_]*)*|\d+")
_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")
_SUFFIXES = ("ations", "ation", "ings", "ing", "ies", "ed", "es", "s")


def stem(word: str) -> str:
    """A light suffix strip: enough to meet 'failing'/'fails'/'failed' without a stemmer dependency."""
    if len(word) <= 4 or not word.isalpha():
        return word
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            base = word[: -len(suffix)]
            if suffix == "ies":
                return base + "y"
            if suffix == "es" and not base.endswith(("s", "x", "z", "ch", "sh")):
                return base + "e"
            return base
    return word


def _strip_frames(text: str) -> str:
    """Keep the top frames of each stack trace as 'Class.method' and drop the rest."""
    out: list[str] = []
    run = 0
    for line in text.splitlines():
        frame = _FRAME.match(line)
        if frame:
            run += 1
            if run <= MAX_FRAMES:
                out.append(frame.group(1).rsplit(".", 2)[-2:][0] + "." + frame.group(1).rsplit(".", 1)[-1])
            continue
        run = 0
        if not _MORE.match(line):
            out.append(line)
    return "\n".join(out)


def clean(text: str) -> str:
    """Markdown, Jira markup, URLs, hashes and deep stack frames removed; code kept as words."""
    text = text[:MAX_BODY_CHARS]
    text = _FENCE.sub(lambda m: m.group(0).strip("`~"), text)
    text = _URL.sub(" ", text)
    text = _MARKUP.sub(" ", text)
    text = _HEX.sub(" ", text)
    return _strip_frames(text)


def _word_tokens(word: str) -> list[str]:
    """A word and, for identifiers, its parts: 'FileSystem.get' -> filesystem.get, file, system, ..."""
    parts = [p for p in re.split(r"[.:#_]", word) if p]
    tokens: list[str] = []
    if len(parts) > 1:
        tokens.append(word.lower())
    for part in parts:
        pieces = _CAMEL.findall(part)
        if len(pieces) > 1:
            tokens.append(part.lower())
        tokens.extend(p.lower() for p in pieces)
    return tokens


def words(text: str) -> list[str]:
    """Lowercased, stemmed tokens of cleaned text, stopwords and one-letter pieces dropped."""
    out: list[str] = []
    for match in _WORD.finditer(clean(text)):
        for token in _word_tokens(match.group(0)):
            if len(token) > 1 and token not in STOPWORDS and not token.isdigit():
                out.append(stem(token))
    return out


def tokenize(title: str, body: str) -> list[str]:
    """The lexical document of an issue: the title weighted, then the body."""
    return words(title) * TITLE_WEIGHT + words(body)


def embed_text(title: str, body: str) -> str:
    """What the embedding model reads: the title, then the start of the cleaned body."""
    body_text = " ".join(clean(body).split())[:EMBED_BODY_CHARS]
    return f"{title.strip()}\n{body_text}".strip()
