#!/usr/bin/env python3
"""bench/harness/report.py: turns one bench/run.sh run into its table, JSON and plot.

Reads RESULTS/logs/raw.tsv (one measurement per line, tab-separated key=value fields written
by run.sh), RESULTS/logs/meta.txt and the raw tool outputs it names; prints the table to
stdout and writes RESULTS/results.json, RESULTS/plot.dat and RESULTS/cpu_per_request.png
(gnuplot, bench/harness/plot.gp). Standard library only.
    python3 bench/harness/report.py bench/results/<date>
"""
import json
import os
import re
import shutil
import statistics
import subprocess
import sys

# Workload id → (kind, title, the snow entry the ratios divide by). In print order.
WORKLOADS = {
    "http-c64": ("http", "HTTP /plaintext keep-alive, wrk -t1 -c64", "snow_demo"),
    "http-c512": ("http", "HTTP /plaintext keep-alive, wrk -t1 -c512", "snow_demo"),
    "pipeline-c64": ("http", "HTTP /plaintext pipelined 16 deep, wrk -t1 -c64 -s pipeline.lua", "snow_demo"),
    "https-c64": ("http", "HTTPS /plaintext keep-alive (TLS 1.3), wrk -t1 -c64", "snow_demo"),
    "https-c512": ("http", "HTTPS /plaintext keep-alive (TLS 1.3), wrk -t1 -c512", "snow_demo"),
    "https-handshake": ("http", "HTTPS, a full handshake per request (Connection: close), wrk -t1 -c16",
                        "snow_demo"),
    "echo-64-c64": ("echo", "TCP echo, 64 B messages, 64 connections (echo_load)", "echo_server"),
    "echo-64-c512": ("echo", "TCP echo, 64 B messages, 512 connections (echo_load)", "echo_server"),
    "echo-4096-c64": ("echo", "TCP echo, 4096 B messages, 64 connections (echo_load)", "echo_server"),
    "echo-4096-c512": ("echo", "TCP echo, 4096 B messages, 512 connections (echo_load)", "echo_server"),
    "mem-idle": ("memory", "Memory: idle keep-alive connections, one GET /plaintext answered on each", "snow_demo"),
    "mem-parked": ("memory", "Memory: parked GET /req/ long-polls on snow_demo", "snow_demo"),
    "mem-sleepers": ("sleepers", "Memory: sleeping coroutines (sleepers: snow::sleep_until 60 s)", "sleepers"),
    "client": ("client", "Client: GET /plaintext from one snow_demo, many in flight", "snow-fetch"),
}
# Caveats printed under a row and stored with it in the JSON.
FOOTNOTES = {
    ("mem-idle", "nginx"): "preallocates its connection table (worker_connections 20,000): "
                           "most of its cost per connection is already in RSS before",
    ("mem-sleepers", "sleepers"): "one process measuring itself: RSS before/after spawning the sleepers",
}
# Plot columns: which family each server belongs to.
FAMILIES = [("snow", ("snow_demo", "echo_server")), ("raw liburing", ("limit_http", "limit_echo")),
            ("nginx", ("nginx",)), ("Boost.Asio", ("asio_http",)), ("Go", ("go_http", "go_echo"))]


def read_kv_lines(path):
    out = {}
    if os.path.exists(path):
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                key, sep, value = line.rstrip("\n").partition("=")
                if sep:
                    out[key] = value
    return out


def read_raw(path):
    rows = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            row = {}
            for field in line.split("\t"):
                key, _, value = field.partition("=")
                row[key] = value
            rows.append(row)
    return rows


def read_text(results, relative):
    try:
        with open(os.path.join(results, relative), encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return ""


UNIT_MS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}


def duration_ms(text):
    m = re.fullmatch(r"([0-9.]+)(us|ms|s|m|h)", text.strip())
    return float(m.group(1)) * UNIT_MS[m.group(2)] if m else None


def parse_wrk(text):
    """wrk --latency output → requests, seconds, rate, p99_ms, errors (None if unreadable)."""
    out = {}
    m = re.search(r"^\s*(\d+) requests in ([0-9.]+)(us|ms|s|m|h)", text, re.M)
    if m:
        out["requests"] = int(m.group(1))
        out["seconds"] = float(m.group(2)) * UNIT_MS[m.group(3)] / 1e3
    m = re.search(r"^Requests/sec:\s*([0-9.]+)", text, re.M)
    if m:
        out["rate"] = float(m.group(1))
    m = re.search(r"^\s*99%\s+(\S+)", text, re.M)
    if m:
        # Under pipelining wrk times one response per batch and sometimes prints 99% as 0.00us:
        # that is "unknown", not zero.
        p99 = duration_ms(m.group(1))
        out["p99_ms"] = p99 if p99 else None
    errors = 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if m:
        errors += sum(int(g) for g in m.groups())
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    if m:
        errors += int(m.group(1))
    out["errors"] = errors
    return out


def parse_pairs(text):
    """key=value words (echo_load, sleepers) → dict of numbers."""
    out = {}
    for key, value in re.findall(r"(\w+)=(-?[0-9.]+)", text):
        out[key] = float(value) if "." in value else int(value)
    return out


def mean(values):
    values = [v for v in values if v is not None]
    return statistics.fmean(values) if values else None


def spread(values):
    values = [v for v in values if v is not None]
    if len(values) < 2 or not statistics.fmean(values):
        return None
    return (max(values) - min(values)) / statistics.fmean(values)


def ratio(a, b):
    return a / b if a is not None and b else None


def collect(results, rows, hz):
    """rows → {workload id: {server: entry}} with per-round figures and their aggregate."""
    table = {}
    for row in rows:
        wid, server = row.get("id"), row.get("server")
        if wid not in WORKLOADS or not server:
            continue
        entry = table.setdefault(wid, {}).setdefault(server, {"server": server, "rounds": [], "notes": []})
        status = row.get("status", "failed")
        if row.get("note") and row["note"] not in entry["notes"]:
            entry["notes"].append(row["note"])
        if status == "skipped":
            continue
        kind = WORKLOADS[wid][0]
        r = {"round": int(row.get("round", 1) or 1), "status": status}
        if kind == "http":
            r.update(parse_wrk(read_text(results, row.get("wrk", ""))))
            r["ticks"] = int(row.get("ticks", 0))
            r["output"] = row.get("wrk")
            if r.get("requests") is None:
                r["status"] = "failed"
        elif kind == "echo":
            p = parse_pairs(read_text(results, row.get("echo", "")))
            r.update({"round_trips": p.get("round_trips"), "seconds": p.get("seconds"),
                      "rate": p.get("rate"), "errors": p.get("errors", 0)})
            r["ticks"] = int(row.get("ticks", 0))
            r["output"] = row.get("echo")
            if not r.get("round_trips"):
                r["status"] = "failed"
        elif kind == "memory":
            count = int(row.get("count", 0) or 0)
            before, after = int(row.get("rss_before_kib", 0)), int(row.get("rss_after_kib", 0))
            r.update({"count": count, "rss_before_kib": before, "rss_after_kib": after})
            if status == "ok" and count:
                r["bytes_per_item"] = (after - before) * 1024 / count
        elif kind == "sleepers":
            p = parse_pairs(read_text(results, row.get("sleepers", "")))
            r.update(p)
            r["output"] = row.get("sleepers")
            if "bytes_per_sleeper" in p:
                r["bytes_per_item"] = p["bytes_per_sleeper"]
                r["count"] = p.get("sleepers")
                r["rss_before_kib"], r["rss_after_kib"] = p.get("rss_before_kib"), p.get("rss_after_kib")
            else:
                r["status"] = "failed"
        elif kind == "client":
            count, ok = int(row.get("count", 0)), int(row.get("ok", 0) or 0)
            wall = float(row.get("wall", 0) or 0)
            r.update({"count": count, "ok": ok, "wall_seconds": wall, "ticks": int(row.get("ticks", 0))})
            r["rate"] = ok / wall if wall > 0 else None
            r["errors"] = count - ok
            r["requests"] = ok
        entry["rounds"].append(r)

    for wid, servers in table.items():
        kind, _, base = WORKLOADS[wid]
        for name, e in servers.items():
            if (wid, name) in FOOTNOTES:
                e["footnote"] = FOOTNOTES[(wid, name)]
        for e in servers.values():
            good = [r for r in e["rounds"] if r["status"] == "ok"]
            e["status"] = "ok" if good else ("failed" if e["rounds"] else "skipped")
            if not good:
                continue
            if kind in ("http", "echo", "client"):
                work = sum((r.get("requests") or r.get("round_trips") or 0) for r in good)
                ticks = sum(r["ticks"] for r in good)
                e["rate"] = mean(r.get("rate") for r in good)
                e["rate_spread"] = spread([r.get("rate") for r in good])
                e["cpu_us_per_op"] = ticks / hz * 1e6 / work if work else None
                e["errors"] = sum(r.get("errors") or 0 for r in good)
                if kind == "http":
                    e["p99_ms"] = mean(r.get("p99_ms") for r in good)
            else:
                e["bytes_per_item"] = mean(r.get("bytes_per_item") for r in good)
                e["rss_before_kib"] = mean(r.get("rss_before_kib") for r in good)
                e["rss_after_kib"] = mean(r.get("rss_after_kib") for r in good)
                e["count"] = good[0].get("count")
        b = servers.get(base, {})
        for e in servers.values():
            if e["status"] != "ok":
                continue
            if kind in ("http", "echo", "client"):
                e["snow_over_peer_rate"] = ratio(b.get("rate"), e.get("rate"))
                e["snow_over_peer_cpu"] = ratio(b.get("cpu_us_per_op"), e.get("cpu_us_per_op"))
            elif kind == "memory":
                e["snow_over_peer_bytes"] = ratio(b.get("bytes_per_item"), e.get("bytes_per_item"))
    return table


def fmt_num(value, digits=0, suffix=""):
    if value is None:
        return "-"
    return f"{value:,.{digits}f}{suffix}"


def fmt_ratio(value):
    return "-" if value is None else f"{value:.2f}x"


def render(meta, table):
    lines = []
    lines.append(f"snow benchmark  {meta.get('date', '?')}  nproc {meta.get('nproc', '?')}  "
                 f"kernel {meta.get('kernel', '?')}  CPU: {meta.get('cpu', '?')}")
    lines.append(f"{meta.get('seconds', '?')} s per run, {meta.get('rounds', '?')} round(s) A B A B; "
                 f"server on CPU 0, load on CPU 1; commit {meta.get('commit', '?')}")
    lines.append("snow÷peer: req/s above 1 = snow faster; CPU/op and bytes below 1 = snow cheaper")
    headers = {
        "http": ("server", "req/s", "spread", "p99 ms", "CPU µs/req", "snow÷ req/s", "snow÷ CPU"),
        "echo": ("server", "round trips/s", "spread", "", "CPU µs/rt", "snow÷ rt/s", "snow÷ CPU"),
        "memory": ("server", "RSS before KiB", "RSS after KiB", "", "bytes/item", "snow÷ bytes", ""),
        "sleepers": ("program", "RSS before KiB", "RSS after KiB", "", "bytes/sleeper", "", ""),
        "client": ("client", "fetches/s", "spread", "ok", "srv CPU µs/get", "snow÷ fetch/s", "snow÷ CPU"),
    }
    widths = (13, 14, 14, 11, 15, 14, 10)
    rule = "-" * (sum(widths) + len(widths) - 1)

    def row(cells):
        first = f"{cells[0]:<{widths[0]}}"
        rest = " ".join(f"{c:>{w}}" for c, w in zip(cells[1:], widths[1:]))
        return (first + " " + rest).rstrip()

    for wid, (kind, title, _) in WORKLOADS.items():
        if wid not in table:
            continue
        lines.append(rule)
        count = next((e.get("count") for e in table[wid].values() if e.get("count")), None)
        if kind in ("memory", "sleepers") and count:
            title = f"{title}: {count:,}"
        if kind == "client":
            c = next((r.get("count") for e in table[wid].values() for r in e["rounds"]), None)
            if c:
                title = f"{title} ({c:,} fetches)"
        lines.append(title)
        lines.append(row(headers[kind]))
        for e in table[wid].values():
            name = e["server"]
            if e["status"] != "ok":
                why = "; ".join(e["notes"]) or e["status"]
                lines.append(f"{name:<{widths[0]}} {e['status']}: {why}")
                continue
            warn = ""
            if e.get("errors"):
                warn = f"  ({e['errors']:,} errors)"
            if kind == "http":
                cells = (name, fmt_num(e["rate"]), fmt_num(e["rate_spread"] and e["rate_spread"] * 100, 1, "%"),
                         fmt_num(e.get("p99_ms"), 2), fmt_num(e["cpu_us_per_op"], 2),
                         fmt_ratio(e.get("snow_over_peer_rate")), fmt_ratio(e.get("snow_over_peer_cpu")))
            elif kind == "echo":
                cells = (name, fmt_num(e["rate"]), fmt_num(e["rate_spread"] and e["rate_spread"] * 100, 1, "%"),
                         "", fmt_num(e["cpu_us_per_op"], 2),
                         fmt_ratio(e.get("snow_over_peer_rate")), fmt_ratio(e.get("snow_over_peer_cpu")))
            elif kind == "memory":
                cells = (name, fmt_num(e["rss_before_kib"]), fmt_num(e["rss_after_kib"]), "",
                         fmt_num(e["bytes_per_item"]), fmt_ratio(e.get("snow_over_peer_bytes")), "")
            elif kind == "sleepers":
                cells = (name, fmt_num(e["rss_before_kib"]), fmt_num(e["rss_after_kib"]), "",
                         fmt_num(e["bytes_per_item"], 1), "", "")
            else:
                ok = sum(r.get("ok", 0) for r in e["rounds"] if r["status"] == "ok")
                total = sum(r.get("count", 0) for r in e["rounds"] if r["status"] == "ok")
                cells = (name, fmt_num(e["rate"]), fmt_num(e["rate_spread"] and e["rate_spread"] * 100, 1, "%"),
                         f"{ok}/{total}" if total != ok else "all", fmt_num(e["cpu_us_per_op"], 2),
                         fmt_ratio(e.get("snow_over_peer_rate")), fmt_ratio(e.get("snow_over_peer_cpu")))
                warn = ""
            lines.append(row(cells) + warn)
            if (wid, name) in FOOTNOTES:
                lines.append(f"{'':<{widths[0]}} * {FOOTNOTES[(wid, name)]}")
            for r in e["rounds"]:
                if r["status"] != "ok":
                    lines.append(f"{'':<{widths[0]}} round {r['round']} failed: {'; '.join(e['notes']) or 'see logs'}")
    lines.append(rule)
    elapsed, build = meta.get("elapsed"), meta.get("build_seconds")
    if elapsed and build:
        lines.append(f"run time {elapsed} s: install and build {build} s, measuring {int(elapsed) - int(build)} s")
    else:
        lines.append(f"run time {elapsed or '?'} s")
    return "\n".join(lines)


def write_plot(results, table):
    """Grouped bars: server CPU µs per request / round trip, per workload and server family."""
    ids = [w for w, (kind, _, _) in WORKLOADS.items() if kind in ("http", "echo") and w in table]
    if not ids:
        return None
    data = os.path.join(results, "plot.dat")
    measured = 0
    with open(data, "w", encoding="utf-8") as f:
        f.write('"workload" ' + " ".join(f'"{family}"' for family, _ in FAMILIES) + "\n")
        for wid in ids:
            values = []
            for _, members in FAMILIES:
                v = next((table[wid][m].get("cpu_us_per_op") for m in members if m in table[wid]), None)
                values.append("-" if v is None else f"{v:.3f}")
                measured += v is not None
            f.write(f'"{wid}" ' + " ".join(values) + "\n")
    if not measured:
        return None
    gnuplot = shutil.which("gnuplot")
    if not gnuplot:
        return None
    out = os.path.join(results, "cpu_per_request.png")
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "plot.gp")
    done = subprocess.run([gnuplot, "-e", f"datafile='{data}'; outfile='{out}'", script],
                          capture_output=True, text=True)
    if done.returncode != 0:
        print(f"report.py: gnuplot failed: {done.stderr.strip()}", file=sys.stderr)
        return None
    return out


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    results = sys.argv[1]
    logs = os.path.join(results, "logs")
    meta = read_kv_lines(os.path.join(logs, "meta.txt"))
    hz = int(meta.get("clk_tck", "100") or 100)
    rows = read_raw(os.path.join(logs, "raw.tsv"))
    table = collect(results, rows, hz)
    text = render(meta, table)
    print(text)
    with open(os.path.join(results, "table.txt"), "w", encoding="utf-8") as f:
        f.write(text + "\n")
    plot = write_plot(results, table)
    document = {
        "machine": {k: meta.get(k) for k in ("date", "nproc", "kernel", "cpu", "clk_tck", "nofile")},
        "settings": {"seconds_per_run": int(meta.get("seconds", 0) or 0),
                     "rounds": int(meta.get("rounds", 0) or 0),
                     "commit": meta.get("commit"), "wrk": meta.get("wrk"),
                     "pinning": {"server": "taskset -c 0", "load": "taskset -c 1"}},
        "elapsed_seconds": int(meta.get("elapsed", 0) or 0),
        "build_seconds": int(meta.get("build_seconds", 0) or 0),
        "plot": os.path.basename(plot) if plot else None,
        "workloads": [
            {"id": wid, "kind": WORKLOADS[wid][0], "title": WORKLOADS[wid][1], "baseline": WORKLOADS[wid][2],
             "servers": list(table[wid].values())}
            for wid in WORKLOADS if wid in table
        ],
    }
    with open(os.path.join(results, "results.json"), "w", encoding="utf-8") as f:
        json.dump(document, f, indent=2, ensure_ascii=False)
        f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
