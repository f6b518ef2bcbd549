#!/usr/bin/env python3
"""bench/soak_report.py: turns one soak run of bench/run_soak.sh (the sampler's lines and the
generator's JSON report) into bench/results/<date>-<commit>-soak.json and an SVG plot of the
server's RSS over time beside it.

The RSS verdict ignores the warm-up (allocator arenas, SQLite page cache, WAL reach their working
size) and the samples after the load ended, then gives over the rest: the least-squares slope
(KiB per minute, and MiB per hour), and the growth of the median of the last fifth over the
median of the first fifth. "flat" means both stay within FLAT_* below: a leak of one allocation
per message or per reconnect would show as steady growth well beyond them."""
import argparse
import json
import statistics

# Thresholds for "flat": less than 1% growth from the first to the last fifth (after warm-up),
# and a slope under 1 MiB per hour.
FLAT_GROWTH = 0.01
FLAT_SLOPE_KIB_PER_MIN = 1024 / 60


def slope(xs, ys):
    n = len(xs)
    if n < 2:
        return 0.0
    mx, my = sum(xs) / n, sum(ys) / n
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den if den else 0.0


def svg(samples, load_start_min, load_end_min, warm_min, title):
    w, h, pad = 720, 300, 50
    xs = [s["t_min"] for s in samples]
    ys = [s["rss_kib"] / 1024 for s in samples]
    if not xs:
        return ""
    x0, x1 = 0.0, max(xs) or 1.0
    y1 = max(ys) * 1.1 or 1.0
    px = lambda x: pad + (x - x0) / (x1 - x0) * (w - 2 * pad)
    py = lambda y: h - pad - y / y1 * (h - 2 * pad)
    pts = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in zip(xs, ys))
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="11">',
           f'<rect width="{w}" height="{h}" fill="white"/>',
           f'<text x="{pad}" y="20" font-size="13">{title}</text>']
    for frac in (0, 0.25, 0.5, 0.75, 1):
        y = y1 * frac
        out.append(f'<line x1="{pad}" x2="{w - pad}" y1="{py(y):.1f}" y2="{py(y):.1f}" stroke="#ddd"/>')
        out.append(f'<text x="5" y="{py(y) + 4:.1f}">{y:.0f} MiB</text>')
    step = 5 if x1 > 10 else 1
    t = 0
    while t <= x1:
        out.append(f'<text x="{px(t) - 5:.1f}" y="{h - pad + 15}">{t}</text>')
        t += step
    out.append(f'<text x="{w / 2 - 30:.0f}" y="{h - 12}">minutes</text>')
    for x, label in ((load_start_min, "load"), (warm_min, "warm-up end"), (load_end_min, "load end")):
        if x is not None:
            out.append(f'<line x1="{px(x):.1f}" x2="{px(x):.1f}" y1="{pad}" y2="{h - pad}" stroke="#999" stroke-dasharray="4 3"/>')
            out.append(f'<text x="{px(x) + 3:.1f}" y="{pad + 10}" fill="#666">{label}</text>')
    out.append(f'<polyline points="{pts}" fill="none" stroke="#1f6feb" stroke-width="1.5"/>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser()
    for a in ("samples", "report", "out", "date", "commit"):
        ap.add_argument("--" + a, required=True)
    for a in ("users", "rate", "minutes", "churn", "clk-tck"):
        ap.add_argument("--" + a, type=float, required=True)
    ap.add_argument("--warmup-min", type=float, default=5)
    a = ap.parse_args()

    raw = []
    for line in open(a.samples):
        f = line.split()
        if len(f) >= 6 and int(f[1]) > 0:
            raw.append((int(f[0]), int(f[1]), int(f[2]), int(f[3]), int(f[4]), float(f[5])))
    try:
        report = json.load(open(a.report))
    except (OSError, ValueError):
        report = {}
    t0 = raw[0][0] if raw else 0
    samples = [{"t_min": round((t - t0) / 60000, 3), "rss_kib": rss, "hwm_kib": hwm,
                "cpu_s": round(ticks / a.clk_tck, 2), "fds": fds, "load_avg_1m": load}
               for t, rss, hwm, ticks, fds, load in raw]

    # The load phase as the generator saw it: the ramp is at most `ramp_s` after the server
    # started, the phase lasts `duration_s`.
    ph = (report.get("phases") or [{}])[0]
    ramp_s = (report.get("connections") or {}).get("ramp_s") or 0
    load_start = ramp_s / 60 if samples else None
    load_end = (ramp_s + (ph.get("duration_s") or a.minutes * 60)) / 60 if samples else None
    warm_end = (load_start or 0) + a.warmup_min
    steady = [s for s in samples if warm_end <= s["t_min"] <= (load_end or 0)]
    verdict = {"warmup_min": a.warmup_min, "samples_judged": len(steady)}
    if len(steady) >= 10:
        k = max(1, len(steady) // 5)
        first = statistics.median(s["rss_kib"] for s in steady[:k])
        last = statistics.median(s["rss_kib"] for s in steady[-k:])
        sl = slope([s["t_min"] for s in steady], [s["rss_kib"] for s in steady])
        growth = (last - first) / first if first else 0.0
        verdict.update({
            "rss_first_fifth_median_kib": first, "rss_last_fifth_median_kib": last,
            "growth_fraction": round(growth, 4),
            "slope_kib_per_min": round(sl, 1), "slope_mib_per_hour": round(sl * 60 / 1024, 2),
            "rss_min_kib": min(s["rss_kib"] for s in steady), "rss_max_kib": max(s["rss_kib"] for s in steady),
            "flat": abs(growth) < FLAT_GROWTH and sl < FLAT_SLOPE_KIB_PER_MIN,
            "flat_means": f"|growth| < {FLAT_GROWTH:.0%} and slope < {FLAT_SLOPE_KIB_PER_MIN * 60 / 1024:.0f} MiB/h",
        })
    loads = [s["load_avg_1m"] for s in samples]
    res = {
        "date": a.date, "commit": a.commit, "kind": "soak",
        "workload": {"users": int(a.users), "rate": a.rate, "minutes": a.minutes,
                     "reconnects_per_min": a.churn},
        "load_avg_1m": {"min": min(loads), "median": statistics.median(loads), "max": max(loads)} if loads else None,
        "rss": verdict, "samples": samples, "generator": report,
    }
    json.dump(res, open(a.out, "w"), indent=1)
    title = (f"parley RSS, soak {a.users:.0f} conns, {a.rate:.0f} msg/s, {a.minutes:.0f} min "
             f"(commit {a.commit}, {a.date})")
    open(a.out[:-5] + ".svg", "w").write(svg(samples, load_start, load_end, warm_end, title))
    d = report.get("deliveries") or {}
    print(json.dumps({"ok": report.get("ok"), "lost": d.get("lost"), "duplicates": d.get("duplicates"),
                      "order_violations": d.get("order_violations"), "rss": {k: v for k, v in verdict.items()}}))


if __name__ == "__main__":
    main()
