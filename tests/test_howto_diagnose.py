"""The PyTorch and Flax examples of docs/howto/diagnose.md run and the trained projector agrees with the prediction.

Neither torch nor flax is a dependency: each example is skipped where its framework is absent.
"""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

PAGE = Path(__file__).resolve().parents[1] / "docs" / "howto" / "diagnose.md"


def _block(heading: str) -> str:
    text = PAGE.read_text(encoding="utf-8")
    section = text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return re.search(r"```python\n(.*?)\n```", section, re.S).group(1)


@pytest.mark.slow  # a few thousand optimizer steps (about a minute on a CPU)
@pytest.mark.parametrize(("heading", "module"), [("PyTorch", "torch"), ("JAX and Flax", "flax")])
def test_example_runs_and_agrees(heading, module):
    pytest.importorskip(module)
    out = io.StringIO()
    namespace: dict = {"__name__": "__howto__"}
    with contextlib.redirect_stdout(out):
        exec(compile(_block(heading), f"{PAGE.name} ({heading})", "exec"), namespace)
    result, diag = namespace["result"], namespace["diag"]
    assert result.measured_rank == diag.predicted_rank
    assert all(a is not False for a in result.agreement)
    assert "streamed rank" in out.getvalue()
