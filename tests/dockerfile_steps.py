"""deploy/Dockerfile followed step by step without Docker, for a test on a machine that has none.

Each stage gets a root folder of its own that stands for the container's ``/``; its base image ``python:3.11-slim``
is a fresh venv of this Python at ``<root>/usr/local`` (where that image keeps its Python, pip and scripts).
``COPY`` copies from the build context (minus ``.dockerignore``) or from an earlier stage's root, ``WORKDIR`` is
the working directory of what follows, ``RUN`` runs its commands with every absolute path moved under the root,
``useradd`` and ``USER`` pick the user id the following steps and the ``CMD`` run as (when the test runs as root
and a Python that another user may run is at hand: this test run's own may sit in root's home).
A step or command this module does not know fails the test, so the Dockerfile cannot drift from what it proves.
"""

from __future__ import annotations

import glob
import json
import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

RUN_COMMANDS = {"pip", "rm", "mkdir", "chown", "useradd", "workflows-plugin"}
BASE_IMAGE = "python:3.11-slim"
PYTHONS = ("/usr/local/bin/python3.11", "/usr/bin/python3.11")  # where images and Debian keep Python 3.11


def _others_may_run(path: Path) -> bool:
    return all(os.stat(p).st_mode & 0o001 for p in [path, *path.parents])


def base_python() -> tuple[str, bool]:
    """The Python 3.11 the base image stands on, and whether another user can run it (so USER can be followed)."""
    mine = Path(os.path.realpath(sys._base_executable))
    for candidate in (mine, *map(Path, PYTHONS)):
        if candidate.is_file() and _others_may_run(candidate):
            return str(candidate), True
    return str(mine), False


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of each step, continuation lines joined and comments dropped."""
    steps, pending = [], ""
    for line in text.splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        pending += line.rstrip()
        if pending.endswith("\\"):
            pending = pending[:-1] + " "
            continue
        word, _, rest = pending.strip().partition(" ")
        steps.append((word.upper(), rest.strip()))
        pending = ""
    return steps


@dataclass
class Stage:
    """One ``FROM``: its root folder, working directory, user, environment and command."""

    name: str
    root: Path
    workdir: str = "/"
    user: str = "root"
    env: dict[str, str] = field(default_factory=dict)
    cmd: list[str] = field(default_factory=list)
    exposed: list[int] = field(default_factory=list)

    def path(self, container_path: str) -> Path:
        """Where a path of the container is in this stage's root (relative ones from the working directory)."""
        full = container_path if container_path.startswith("/") else f"{self.workdir}/{container_path}"
        return self.root / full.lstrip("/")


class Build:
    """The Dockerfile's stages, followed in order; the last stage is the image."""

    def __init__(self, dockerfile: Path, context: Path, work: Path) -> None:
        self.context, self.work = context, work
        self.stages: list[Stage] = []
        self.users: dict[str, int] = {"root": 0}
        ignore = (context / ".dockerignore").read_text().splitlines() if (context / ".dockerignore").exists() else []
        self.ignore = shutil.ignore_patterns(*(p.removeprefix("**/") for p in ignore if p and not p.startswith("#")))
        self.steps = instructions(dockerfile.read_text())
        self.python, runnable_by_others = base_python()
        self.switch_user = runnable_by_others and os.geteuid() == 0

    @property
    def image(self) -> Stage:
        return self.stages[-1]

    def run(self) -> Build:
        for word, args in self.steps:
            handler = getattr(self, f"_{word.lower()}", None)
            assert handler, f"tests/dockerfile_steps.py does not know how to follow {word}: teach it"
            handler(args)
        return self

    def env(self, stage: Stage) -> dict[str, str]:
        """The environment of a process in the stage: the image's PATH first, its ENV (paths moved)."""
        base = {k: v for k, v in os.environ.items() if not k.startswith(("WORKFLOWS_", "PYTHON", "VIRTUAL_ENV",
                                                                          "PYTEST", "PROMETHEUS_"))}
        moved = {k: str(stage.path(v)) if v.startswith("/") else v for k, v in stage.env.items()}
        home = stage.path(f"/home/{stage.user}" if stage.user != "root" else "/root")
        return {**base, "PATH": f"{stage.path('/usr/local/bin')}{os.pathsep}{base.get('PATH', '')}",
                "HOME": str(home), **moved}

    def as_user(self, stage: Stage) -> dict[str, object]:
        """``subprocess`` arguments that run a process as the stage's user (none when it cannot switch)."""
        if not self.switch_user:
            return {}
        uid = self.users[stage.user]
        return {"user": uid, "group": uid, "extra_groups": []}

    def _from(self, args: str) -> None:
        image, _, name = args.partition(" AS ")
        assert image.strip() == BASE_IMAGE, f"base image {image}: the test stands in only for {BASE_IMAGE}"
        root = self.work / f"stage{len(self.stages)}"
        root.mkdir(mode=0o755)
        subprocess.run([self.python, "-m", "venv", str(root / "usr/local")], check=True)
        self.stages.append(Stage(name=name.strip() or str(len(self.stages)), root=root))

    def _workdir(self, args: str) -> None:
        self.image.workdir = args if args.startswith("/") else f"{self.image.workdir}/{args}"
        self.image.path(args).mkdir(parents=True, exist_ok=True)

    def _copy(self, args: str) -> None:
        words = shlex.split(args)
        source_root = self.context
        if words[0].startswith("--from="):
            stage = words.pop(0).removeprefix("--from=")
            [source_root] = [s.root for s in self.stages if s.name == stage]
        *sources, target = words
        for source in sources:
            origin = source_root / source.lstrip("/")
            into = self.image.path(target)
            if origin.is_dir():
                shutil.copytree(origin, into, ignore=self.ignore, dirs_exist_ok=True)
            elif target.endswith("/"):
                into.mkdir(parents=True, exist_ok=True)
                shutil.copy2(origin, into / origin.name)
            else:
                into.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(origin, into)

    def _run(self, args: str) -> None:
        for command in args.split("&&"):
            words = shlex.split(command)
            assert words[0] in RUN_COMMANDS, f"RUN {words[0]}: tests/dockerfile_steps.py does not follow it yet"
            getattr(self, f"_run_{words[0].replace('-', '_')}", self._run_plain)(words)

    def _moved(self, words: list[str]) -> list[str]:
        """The command with each absolute path under the stage's root, globs expanded as a shell would."""
        out = []
        for word in words:
            moved = str(self.image.path(word)) if word.startswith("/") else word
            matches = sorted(glob.glob(moved)) if "*" in moved else []
            out += matches or [moved]
        return out

    def _run_plain(self, words: list[str]) -> None:
        stage = self.image
        done = subprocess.run(self._moved(words), cwd=stage.path(stage.workdir), env=self.env(stage),
                              capture_output=True, text=True, **self.as_user(stage))
        assert done.returncode == 0, f"RUN {' '.join(words)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"

    def _run_useradd(self, words: list[str]) -> None:
        name, uid = words[-1], int(words[words.index("--uid") + 1])
        self.users[name] = uid
        if "--create-home" in words:
            home = self.image.path(f"/home/{name}")
            home.mkdir(parents=True)
            if self.switch_user:
                os.chown(home, uid, uid)

    def _run_chown(self, words: list[str]) -> None:
        owner, *paths = words[1:]
        if self.switch_user:
            for path in self._moved(paths):
                os.chown(path, self.users[owner], -1)

    def _user(self, args: str) -> None:
        assert args in self.users, f"USER {args}: no such user was added"
        self.image.user = args

    def _env(self, args: str) -> None:
        self.image.env.update(pair.split("=", 1) for pair in shlex.split(args))

    def _expose(self, args: str) -> None:
        self.image.exposed += [int(p) for p in args.split()]

    def _cmd(self, args: str) -> None:
        self.image.cmd = json.loads(args)
