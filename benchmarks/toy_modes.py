"""Toy mode coverage: modes, high-quality %, KL and NLL per model, toy and seed.

    python benchmarks/toy_modes.py                       # the BENCHMARKS.md run (long, CPU)
    python benchmarks/toy_modes.py --toys hmog5 --models hmog,fc --seeds 0
    python benchmarks/toy_modes.py --steps grid25=6000   # per-toy step counts
    python benchmarks/toy_modes.py --toys grid25 --sharp --key toy_modes/grid25-sharp
                                                         # the run that meets the grid25 target
    python benchmarks/toy_modes.py --quick               # seconds: a dry run for the tests

Each run trains one model with the toy defaults of ``models.toy_defaults`` on one thread
(``toys.train_toy``).  --sharp adds the recipe ``presets.TOY_RECIPES["sharp"]``, the same for
every model: on grid25 30,000 steps, a BatchNorm toy body (build(body_norm="batch")) and a learning
rate that falls linearly to 0 over the second half of the steps (fit(lr_decay=0.5)).  It scores 2,500
samples with ``metrics.toy_scores`` (PacGAN / VEEGAN protocol: a sample is high quality
within 3σ of a mode; a mode is covered when it has one).
Rows are stored through ``mixgan.results`` under --key (JSON, with its manifest entry) as they
finish, so a long run can be watched and resumed (--resume skips rows already there).  The
summary is mean ± std over seeds, and the target is checked: HMoG of depth 3 covers 5/5 modes
of hmog5 and >= 24/25 of grid25 with >= 90 % high-quality samples, in every seed.
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from mixgan import presets, results, toys  # noqa: E402
from mixgan.analysis import summarize  # noqa: E402

MODELS, STEPS, SHARP = presets.TOY_MODELS, presets.TOY_STEPS, presets.TOY_RECIPES["sharp"]
KEYS = ("modes", "high_quality", "kl", "nll")
TARGET = {"hmog5": 5, "grid25": 24}          # min modes for HMoG, with HQ >= 0.9
REFERENCE = {"ring8": "PacGAN4 7.8 / 95.9 %, VEEGAN 8 / 52.9 %",
             "grid25": "PacGAN4 24.8 / 93.6 %, VEEGAN 24.6 / 40 %"}


def parse_steps(spec, toys_):
    """'3000' -> every toy 3000; 'grid25=6000,hmog5=1000' -> per toy (others default)."""
    steps = {t: STEPS.get(t, 2000) for t in toys_}
    for part in filter(None, (spec or "").split(",")):
        if "=" in part:
            t, v = part.split("=")
            steps[t] = int(v)
        else:
            steps = {t: int(part) for t in toys_}
    return steps


def run(models, toys_, seeds, steps, out=None, resume=False, log=print, settings=None):
    """Train and score every (toy, model, seed); returns the list of row dicts.
    out: None or dict(key, root, command) of the results entry the rows are stored under."""
    rows = []
    if resume and out and results.has(out["key"], out["root"]):
        rows = results.load(out["key"], out["root"])["rows"]
    done = {(r["toy"], r["model"], r["seed"]) for r in rows}
    for toy in toys_:
        for name in models:
            for seed in seeds:
                if (toy, name, seed) in done:
                    continue
                opt = (settings or {}).get(toy, {})
                t = time.process_time()
                model, h = toys.train_toy(name, toy, steps[toy], seed=seed, fit_kw=opt.get("fit"),
                                          **opt.get("build", {}))
                s = toys.score(model, h["spec"], n=2500, seed=1000 + seed)
                row = dict(model=name, toy=toy, seed=seed, steps=steps[toy],
                           settings={k: v for k, v in opt.items() if k != "steps"},
                           wall_s=h["time_s"], cpu_s=time.process_time() - t, **s)
                rows.append(row)
                log(f"{toy:7s} {name:14s} seed {seed}: {s['modes']:2d} modes, "
                    f"HQ {100 * s['high_quality']:5.1f} %, KL {s['kl']:.3f}, NLL {s['nll']:8.2f}  "
                    f"({row['cpu_s']:.0f} s CPU, {row['wall_s']:.0f} s wall)")
                if out:
                    save(rows, out)
    return rows


def save(rows, out):
    results.save(out["key"], {"rows": rows, "summary": summarize(rows, KEYS, by=("model", "toy"))},
                 kind="json", root=out["root"], command=out["command"],
                 what="toy mode coverage per model, toy and seed (rows) and mean ± std over seeds (summary)")


def table(rows):
    """Markdown table: mean ± std over seeds per toy and model."""
    lines = ["| toy | model | steps | seeds | modes | HQ % | KL | NLL | CPU s / run |",
             "| --- | --- | ---: | ---: | --- | --- | --- | --- | ---: |"]
    cpu = {}
    for r in rows:
        cpu.setdefault((r["model"], r["toy"]), []).append((r["cpu_s"], r["steps"]))
    for s in summarize(rows, KEYS, by=("model", "toy")):
        c = cpu[(s["model"], s["toy"])]
        lines.append(
            f"| {s['toy']} | {s['model']} | {c[0][1]} | {s['n']} | {s['modes_mean']:.1f} ± {s['modes_std']:.1f} | "
            f"{100 * s['high_quality_mean']:.1f} ± {100 * s['high_quality_std']:.1f} | "
            f"{s['kl_mean']:.3f} ± {s['kl_std']:.3f} | {s['nll_mean']:.2f} ± {s['nll_std']:.2f} | "
            f"{sum(x for x, _ in c) / len(c):.0f} |")
    return "\n".join(lines)


def check_target(rows):
    """Lines saying, per toy of TARGET, whether HMoG met it in every seed."""
    out = []
    for toy, need in TARGET.items():
        rs = [r for r in rows if r["model"] == "hmog" and r["toy"] == toy]
        if not rs:
            continue
        ok = all(r["modes"] >= need and r["high_quality"] >= 0.9 for r in rs)
        per = ", ".join(f"seed {r['seed']}: {r['modes']} / {100 * r['high_quality']:.1f} %" for r in rs)
        out.append(f"target hmog on {toy} (>= {need} modes, >= 90 % HQ, every seed): "
                   f"{'MET' if ok else 'MISSED'} ({per})")
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--toys", default="hmog5,grid25")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--steps", default=None, help="N or toy=N,... (default %s)" % STEPS)
    ap.add_argument("--key", default="toy_modes/defaults", help="the results key the rows are stored under")
    ap.add_argument("--root", default=None, help="the results folder (default results/)")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--sharp", action="store_true",
                    help="add the per-toy options %s to the toy defaults" % SHARP)
    ap.add_argument("--quick", action="store_true", help="tiny dry run: 2 models, 1 seed, 5 steps")
    a = ap.parse_args(argv)
    models, toys_ = a.models.split(","), a.toys.split(",")
    seeds = [int(s) for s in a.seeds.split(",")]
    steps = parse_steps(a.steps, toys_)
    if a.quick:
        models, toys_, seeds, steps = ["hmog", "fc"], ["hmog5"], [0], {"hmog5": 5}
    settings = {t: SHARP[t] for t in toys_ if t in SHARP} if a.sharp else {}
    for t, opt in settings.items():
        if "steps" in opt and not a.steps:
            steps[t] = opt["steps"]
    print(f"models {models}, toys {toys_}, seeds {seeds}, steps {steps}, settings {settings}", flush=True)
    out = dict(key=a.key, root=a.root,
               command="python benchmarks/toy_modes.py " + " ".join(argv if argv is not None else sys.argv[1:]))
    rows = run(models, toys_, seeds, steps, out, a.resume, log=lambda s: print(s, flush=True),
               settings=settings)
    print()
    print(table(rows))
    for t, ref in REFERENCE.items():
        if t in toys_:
            print(f"published ({t}, modes / HQ): {ref}")
    for line in check_target(rows):
        print(line)
    print(f"rows stored as {a.key!r} in {results.path(a.key, root=a.root)}")
    return rows


if __name__ == "__main__":
    main()
