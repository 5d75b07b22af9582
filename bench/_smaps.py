"""Summarise /proc/<pid>/smaps: RSS by kind of mapping (kB)."""
import collections, sys
def summary(pid):
    kinds = collections.Counter(); sizes = collections.Counter()
    cur = None
    for line in open(f"/proc/{pid}/smaps"):
        parts = line.split()
        if "-" in parts[0] and len(parts) >= 5 and not parts[0].endswith(":"):
            lo, hi = (int(x, 16) for x in parts[0].split("-"))
            path = parts[5] if len(parts) > 5 else ""
            size = (hi - lo) // 1024
            if path.startswith("/"):
                cur = "file:" + path.rsplit("/", 1)[-1]
            elif path:
                cur = path
            elif size in (65536, 131072) or size > 60000:
                cur = "anon 64MB-heap (thread arena)"
            elif size in (8192, 8196, 8188):
                cur = "anon 8MB (thread stack)"
            elif size == 1024:
                cur = "anon 1MB (pymalloc arena)"
            else:
                cur = f"anon other"
        elif parts[0] == "Rss:":
            kinds[cur] += int(parts[1])
    return kinds
if __name__ == "__main__":
    k = summary(int(sys.argv[1]))
    tot = sum(k.values())
    print(f"total {tot/1024:.1f} MB")
    for name, kb in k.most_common(18):
        print(f"{kb/1024:8.1f} MB  {name}")
