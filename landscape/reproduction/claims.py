r"""A paper's claim, the numbers that test it, and the verdict that follows from them.

A :class:`Check` is one number of ours, read from stored data, and the rule it must
satisfy against a target (a number the paper gives, or one a closed form gives).  A
:class:`Claim` is one line of a paper with the checks of the claim *as the paper
states it* and, where the paper is wrong as written, our corrected statement with its
own checks.  The verdict is not typed in; :func:`verdict` derives it by one rule:

* **not testable here**: the claim carries the reason and no checks;
* **reproduced**: every check of the paper's statement passes;
* **reproduced with a correction**: a check of the paper's statement fails and every
  check of the corrected statement passes;
* **refuted**: a check of the paper's statement fails and there is no correction, or a
  check of the correction fails as well.

A check whose number is missing or not finite raises :class:`MissingNumber` when it is
built, so a report can never show a verdict without its number.

Example:
    >>> c = Claim(key="demo", paper="ziyin2023", statement="λ decays like σ⁻⁴", where="WS §3",
    ...           checks=(Check("log-log slope of λ against σ²", -2.04, "≈", -2.0, atol=0.1),))
    >>> verdict(c)
    'reproduced'
    >>> verdict(Claim(key="demo2", paper="ziyin2023", statement="λ grows like σ⁴ (Fig. 2 caption)",
    ...               where="WS Fig. 2", checks=(Check("slope", -2.04, "≈", 2.0, atol=0.1),),
    ...               correction="λ decays like σ⁻⁴", corrected=(Check("slope", -2.04, "≈", -2.0, atol=0.1),)))
    'reproduced with a correction'
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["Check", "Claim", "MissingNumber", "PAPERS", "VERDICTS", "verdict", "RULES"]

#: The papers a claim can belong to: key → citation.
PAPERS = {
    "ziyin2023": "Ziyin, Lubana, Ueda, Tanaka: What shapes the loss landscape of self-supervised learning? "
    "(ICLR 2023; workshop version WS)",
    "cosentino2022": "Cosentino et al.: Toward a geometrical understanding of self-supervised contrastive "
    "learning (2022)",
    "dubois2022": "Dubois, Hashimoto, Ermon, Liang: Improving self-supervised learning by characterizing "
    "idealized representations (NeurIPS 2022)",
    "extensions": "Beyond the papers: this library's own predictions (learning dynamics, collapse diagnosis), "
    "checked the same way",
}

REPRODUCED, CORRECTED, REFUTED, UNTESTABLE = (
    "reproduced",
    "reproduced with a correction",
    "refuted",
    "not testable here",
)
VERDICTS = (REPRODUCED, CORRECTED, REFUTED, UNTESTABLE)

#: The comparison rules of a check: symbol → what must hold (v = our value, t = target).
RULES = {
    "≈": "|v − t| ≤ atol + rtol·|t|",
    "=": "v = t exactly (integers, counts)",
    "≤": "v ≤ t",
    "<": "v < t",
    "≥": "v ≥ t",
    ">": "v > t",
}


class MissingNumber(ValueError):
    """A claim's number is absent or not finite: the report must not be written."""


def _number(x, what: str) -> float:
    try:
        v = float(np.asarray(x))
    except (TypeError, ValueError):
        raise MissingNumber(f"{what}: not a number ({x!r})") from None
    if not math.isfinite(v):
        raise MissingNumber(f"{what}: not finite ({v})")
    return v


@dataclass(frozen=True)
class Check:
    """One of our numbers and the rule it must satisfy against ``target``.

    ``quantity`` says what was measured and where (``"λ_min at σ² = 20, simulation"``);
    ``value`` is ours, read from stored data; ``rule`` is a key of :data:`RULES`;
    ``target_from`` says where the target comes from (``"paper, Fig. 2"``, ``"closed form"``).
    """

    quantity: str
    value: float
    rule: str
    target: float
    rtol: float = 0.0
    atol: float = 0.0
    target_from: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", _number(self.value, f"check {self.quantity!r}: value"))
        object.__setattr__(self, "target", _number(self.target, f"check {self.quantity!r}: target"))
        if self.rule not in RULES:
            raise ValueError(f"check {self.quantity!r}: rule must be one of {' '.join(RULES)}, got {self.rule!r}")
        if self.rtol < 0 or self.atol < 0:
            raise ValueError(f"check {self.quantity!r}: tolerances must be ≥ 0")
        if self.rule == "≈" and self.rtol == 0 and self.atol == 0:
            raise ValueError(f"check {self.quantity!r}: '≈' needs a tolerance (use '=' for exact equality)")

    @property
    def passed(self) -> bool:
        v, t = self.value, self.target
        return {
            "≈": lambda: abs(v - t) <= self.atol + self.rtol * abs(t),
            "=": lambda: v == t,
            "≤": lambda: v <= t,
            "<": lambda: v < t,
            "≥": lambda: v >= t,
            ">": lambda: v > t,
        }[self.rule]()

    def describe(self) -> str:
        """``quantity = value (rule target[ ± tol], from …): pass|FAIL``."""
        tol = ""
        if self.rule == "≈":
            tol = " ± " + " + ".join(
                p for p in (f"{self.atol:.3g}" if self.atol else "", f"{self.rtol:.3g}·|t|" if self.rtol else "") if p
            )
        src = f", target from {self.target_from}" if self.target_from else ""
        return (
            f"{self.quantity} = {fmt(self.value)} ({self.rule} {fmt(self.target)}{tol}{src}): "
            f"{'pass' if self.passed else 'FAIL'}"
        )


def fmt(x: float) -> str:
    """A number in at most four significant digits (integers as integers)."""
    if float(x).is_integer() and abs(x) < 1e6:
        return str(int(x))
    return f"{x:.4g}"


@dataclass(frozen=True)
class Claim:
    """One claim of a paper, with the checks that test it.

    ``paper`` is a key of :data:`PAPERS`; ``where`` the section, equation or figure;
    ``paper_number`` the paper's own number as the paper gives it ("" when it gives none);
    ``correction`` and ``corrected`` our statement and its checks where the paper's does
    not hold as written; ``untestable`` the reason a claim cannot be tested here;
    ``note`` one line on the set-up (what is smaller than the paper's, a caveat);
    ``figure`` the experiment whose figure shows it (set by the runner).
    """

    key: str
    paper: str
    statement: str
    where: str
    checks: tuple[Check, ...] = ()
    paper_number: str = ""
    correction: str = ""
    corrected: tuple[Check, ...] = ()
    untestable: str = ""
    note: str = ""
    figure: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "checks", tuple(self.checks))
        object.__setattr__(self, "corrected", tuple(self.corrected))
        if self.paper not in PAPERS:
            raise ValueError(f"claim {self.key}: paper must be one of {sorted(PAPERS)}, got {self.paper!r}")
        if self.untestable and (self.checks or self.corrected):
            raise ValueError(f"claim {self.key}: an untestable claim carries no checks")
        if not self.untestable and not self.checks:
            raise MissingNumber(f"claim {self.key}: no checks and no reason why it is not testable")
        if bool(self.correction) != bool(self.corrected):
            raise ValueError(f"claim {self.key}: a correction needs its own checks, and checks need the correction")

    @property
    def headline(self) -> Check | None:
        """The number the report's table shows: the first check of the statement that holds, if any."""
        if self.untestable:
            return None
        if self.correction and not all(c.passed for c in self.checks):
            return self.corrected[0]
        return self.checks[0]


def verdict(claim: Claim) -> str:
    """The verdict that follows from the claim's checks by the rule of this module's docstring."""
    if claim.untestable:
        return UNTESTABLE
    if all(c.passed for c in claim.checks):
        return REPRODUCED
    if claim.correction and all(c.passed for c in claim.corrected):
        return CORRECTED
    return REFUTED
