"""bench/intake.py finds the shared test-image script from wherever the project is checked out."""

import importlib.util
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def load_intake_from(checkout: Path):
    (checkout / "bench").mkdir(parents=True)
    script = checkout / "bench" / "intake.py"
    shutil.copy(ROOT / "bench" / "intake.py", script)
    spec = importlib.util.spec_from_file_location("intake_elsewhere", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_image_script_is_found_beside_the_checkout(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "path", list(sys.path))  # the script puts its checkout on the path
    intake = load_intake_from(tmp_path / "somewhere" / "foxweb")
    found = intake.BUILD_SCRIPT
    assert found == tmp_path / "somewhere" / "shared" / "testimages" / "build.sh"
