"""The testing guide's pytest setup, copied into a fresh project, runs its sample tests without a warning."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

GUIDE = Path(__file__).parents[2] / "docs" / "guides" / "testing.md"


def test_the_recommended_pytest_setup_runs_the_guides_tests_without_warnings(tmp_path: Path) -> None:
    text = GUIDE.read_text(encoding="utf-8")
    (tmp_path / "test_sample.py").write_text(re.findall(r"```python\n(.*?)```", text, re.S)[0])
    (tmp_path / "pyproject.toml").write_text(re.findall(r"```toml\n(.*?)```", text, re.S)[0])

    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-W", "error", "-p", "no:cacheprovider", "-p", "no:randomly"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert run.returncode == 0, run.stdout + run.stderr
    assert "2 passed" in run.stdout
    assert "warning" not in run.stdout.lower()
