"""The data dir holds every run's data: only its owner may read it."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from plugin.embedded.processes import secure_data_dir


def modes(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): stat.S_IMODE(p.stat().st_mode) for p in [root, *root.rglob("*")]}


def test_data_dir_is_0700_and_its_files_0600_also_those_made_later(tmp_path: Path):
    old_umask = os.umask(0o022)
    try:
        data = tmp_path / "data"
        (data / "logs").mkdir(parents=True, mode=0o755)
        data.chmod(0o755)
        (data / "temporal.db").write_text("x")
        (data / "logs" / "api.log").write_text("x")
        secure_data_dir(data)
        (data / "appendonly.aof").write_text("made after, as a child would")
        (data / "later").mkdir()
        found = modes(data)
        assert found.pop(".") == 0o700
        assert found == {"logs": 0o700, "later": 0o700, "temporal.db": 0o600, "logs/api.log": 0o600,
                         "appendonly.aof": 0o600}
    finally:
        os.umask(old_umask)
