"""The resident memory of a process by kind of mapping (``/proc/<pid>/smaps``): the heap, glibc's and pymalloc's
anonymous areas, thread stacks, and each shared library's pages. Run: python -m bench.memory_maps PID"""

from __future__ import annotations

import collections
import sys


def _kind(size_kb: int, path: str) -> str:
    if path.startswith("/"):
        return "file:" + path.rsplit("/", 1)[-1]
    if path:
        return path  # [heap], [stack]...
    if size_kb == 1024:
        return "anon 1 MB (a pymalloc arena)"
    if size_kb in (8192, 8196):
        return "anon 8 MB (a thread stack)"
    return "anon other (malloc areas, merged arenas)"


def smaps_by_kind(pid: int) -> collections.Counter[str]:
    """Resident kB by kind of mapping."""
    kinds: collections.Counter[str] = collections.Counter()
    current = "?"
    with open(f"/proc/{pid}/smaps") as smaps:
        for line in smaps:
            parts = line.split()
            if not parts[0].endswith(":"):  # a mapping's header: range, perms, offset, dev, inode, [path]
                low, high = (int(x, 16) for x in parts[0].split("-"))
                current = _kind((high - low) // 1024, parts[5] if len(parts) > 5 else "")
            elif parts[0] == "Rss:":
                kinds[current] += int(parts[1])
    return kinds


def smaps_report(pid: int, top: int = 8) -> str:
    """The total and the largest kinds, one per line."""
    kinds = smaps_by_kind(pid)
    rows = [f"  {kb / 1024:6.1f} MB  {name}" for name, kb in kinds.most_common(top)]
    return "\n".join([f"RSS by mapping: {sum(kinds.values()) / 1024:.1f} MB", *rows])


if __name__ == "__main__":
    print(smaps_report(int(sys.argv[1]), top=20))
