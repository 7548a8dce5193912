"""Validation errors of the rule language: each names a JSON path and says what is wrong
in words a marketer understands (docs/rules.md, "Operators")."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RuleError:
    """One problem in a rule. `path` is a JSON path like `when.all[2].value`."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message}


class RuleValidationError(ValueError):
    """Raised by `compile_rule` with every problem found (never just the first)."""

    def __init__(self, errors: list[RuleError]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(str(e) for e in self.errors))
