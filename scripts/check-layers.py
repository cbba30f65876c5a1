#!/usr/bin/env python3
"""The library's folders follow the data path, and each includes only the layers below it:

    core → sync → io → time → net → http → http/websocket → http/server, http/client

A detail/ folder belongs to the layer around it. http/server and http/client are siblings and
include neither the other. snow/snow.hpp, the umbrella, is the one file above every layer.
Both include forms are checked. Also: liburing only in snow/io, no readiness loops (epoll,
select, poll) anywhere in snow/, and no source file over MAX_LINES lines."""
import pathlib
import re
import sys

ORDER = ["core", "sync", "io", "time", "net", "http", "http/websocket", "http/server", "http/client"]
SIBLINGS = {("http/server", "http/client"), ("http/client", "http/server")}
MAX_LINES = 600
UMBRELLA = "snow.hpp"

root = pathlib.Path(__file__).resolve().parent.parent
include = re.compile(r'^\s*#\s*include\s*[<"](snow/[^>"]+)[>"]', re.M)
readiness = re.compile(r"\b(epoll_wait|epoll_create1?|select|poll)\(")


def layer_of(relative: str) -> str | None:
    """The layer of a path below snow/ ("http/server/detail/connection.cpp" → "http/server")."""
    parts = [p for p in pathlib.PurePosixPath(relative).parent.parts if p != "detail"]
    for depth in (2, 1):
        name = "/".join(parts[:depth])
        if name in ORDER:
            return name
    return None


problems = []
for path in sorted((root / "snow").rglob("*")):
    if path.suffix not in (".hpp", ".cpp"):
        continue
    relative = path.relative_to(root / "snow").as_posix()
    text = path.read_text()
    lines = text.count("\n")
    if lines > MAX_LINES:
        problems.append(f"snow/{relative}: {lines} lines, over {MAX_LINES}: split it by job")
    if readiness.search(text):
        problems.append(f"snow/{relative}: uses epoll/select/poll; everything goes through the ring")
    if "<liburing.h>" in text and layer_of(relative) != "io":
        problems.append(f"snow/{relative}: only snow/io includes liburing.h")
    if relative == UMBRELLA:
        continue
    mine = layer_of(relative)
    if mine is None:
        problems.append(f"snow/{relative}: not inside a layer ({', '.join(ORDER)})")
        continue
    for target in include.findall(text):
        theirs = layer_of(target[len("snow/"):])
        if theirs is None:
            problems.append(f"snow/{relative}: includes {target}, which is in no layer")
        elif (mine, theirs) in SIBLINGS or ORDER.index(theirs) > ORDER.index(mine):
            problems.append(f"snow/{relative} ({mine}) must not include {target} ({theirs})")

if problems:
    print("\n".join(problems))
    sys.exit(1)
print("layers ok")
