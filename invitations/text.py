"""Invitation text: language choice and `{fact|fallback}` placeholders (docs/rules.md,
"Variants and text").

The result is always a plain `str`: fact values are inserted verbatim, never escaped
or interpreted — the widget renders it with `textContent`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from invitations.catalogue import TIME_GROWING_FACTS, fact_spec
from invitations.errors import RuleError
from invitations.facts import DepartmentLoad, Getter, VisitorFacts, fact_getter

# A placeholder is {name} or {name|fallback} where name looks like a fact name; any
# other brace is literal text.
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_.:\-]*)(?:\|([^{}]*))?\}")


@dataclass(frozen=True, slots=True)
class Placeholder:
    fact: str
    fallback: str
    get: Getter
    whole_seconds: bool  # time-growing facts read as whole seconds


@dataclass(frozen=True, slots=True)
class Template:
    """A parsed text: literal strings and placeholders, in order."""

    parts: tuple[str | Placeholder, ...]

    def render(self, facts: VisitorFacts, now: float, load: DepartmentLoad | None = None) -> str:
        out = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
                continue
            value = part.get(facts, now, load)
            if value is not None and part.whole_seconds:
                value = math.floor(value)
            text = _format(value)
            out.append(text if text else part.fallback)
        return "".join(out)


def _format(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else format(value, ".15g")
    return str(value)


def parse_template(text: str, path: str, errors: list[RuleError]) -> Template | None:
    """The template for `text`, or None after appending a RuleError per unknown fact."""
    parts: list[str | Placeholder] = []
    pos, ok = 0, True
    for match in _PLACEHOLDER.finditer(text):
        name, fallback = match.group(1), match.group(2) or ""
        if fact_spec(name) is None:
            errors.append(RuleError(path, f'unknown fact "{name}" in placeholder {match.group(0)}'))
            ok = False
            continue
        if match.start() > pos:
            parts.append(text[pos : match.start()])
        parts.append(Placeholder(name, fallback, fact_getter(name), name in TIME_GROWING_FACTS))
        pos = match.end()
    if pos < len(text):
        parts.append(text[pos:])
    return Template(tuple(parts)) if ok else None


def choose_language(
    languages: tuple[str, ...], visitor_tag: str | None, default_lang: str | None
) -> int:
    """Index into `languages` (lower-case tags, in the rule's order) for a visitor:
    the exact tag, then its primary subtag, then the site default, then the first."""
    candidates = []
    if visitor_tag:
        tag = visitor_tag.lower()
        candidates += [tag, tag.split("-", 1)[0]]
    if default_lang:
        candidates.append(default_lang.lower())
    for want in candidates:
        if want in languages:
            return languages.index(want)
    return 0
