"""Frames per second of the Mixture Lab in the kernel, on one CPU thread: a frame is
advance(steps) + state() + what the drawing stack needs from the kernel.

    python benchmarks/lab_speed.py                       # HMoG depth 3 on hmog5, 5 steps / frame
    python benchmarks/lab_speed.py --frames 100 --json results/lab_speed.json
    python benchmarks/lab_speed.py --quick               # a few frames (what the tests run)
    python benchmarks/lab_speed.py --settings paper      # batch 128 and 5 critic steps instead

Settings: "lab" is the lab's own (presets.LAB: batches of 64, 2 critic steps per generator
step), "paper" the toy recipe of fit (batch 128, 5 critic steps), "both" measures the two.

Drawing stacks compared (the kernel's share of a frame):
  anywidget   frame_of(state) + json.dumps: the arrays the JavaScript view draws on canvases
  agg_png     the same panels drawn by matplotlib (Agg) into a PNG for an ipywidgets.Image
The browser's own drawing is not in these figures (canvas drawing of ~3,000 points is far
below a frame).  Clock: process CPU time (other jobs on a shared machine do not inflate it)
and wall time, both reported; fps = frames / CPU seconds.
"""
import argparse
import io
import json
import os
import platform
import time

import torch


def measure(stack, frames, steps, warmup=3, **kw):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mixgan.lab import Lab
    from mixgan.lab.figure import state_figure
    from mixgan.lab.widget import frame_of

    lab = Lab("hmog5", "hmog", seed=0, **kw)

    def one():
        lab.advance(steps)
        s = lab.state()
        if stack == "anywidget":
            return len(json.dumps(frame_of(s)))
        fig = state_figure(s)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=72)
        plt.close(fig)
        return buf.tell()

    for _ in range(warmup):
        one()
    c0, w0 = time.process_time(), time.perf_counter()
    size = 0
    for _ in range(frames):
        size = one()
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    return {"stack": stack, "frames": frames, "steps_per_frame": steps, "cpu_s": cpu, "wall_s": wall,
            "fps": frames / cpu, "fps_wall": frames / wall, "bytes_per_frame": size}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--frames", type=int, default=60)
    p.add_argument("--steps", type=int, default=5, help="generator steps per frame")
    p.add_argument("--depth", type=int, default=3)
    p.add_argument("--stacks", default="anywidget,agg_png")
    p.add_argument("--settings", default="both", choices=("lab", "paper", "both"))
    p.add_argument("--quick", action="store_true", help="3 frames of 1 step (a smoke run)")
    p.add_argument("--json", default=None)
    a = p.parse_args(argv)
    torch.set_num_threads(1)
    frames, steps = (3, 1) if a.quick else (a.frames, a.steps)
    out = {"machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, 1 thread used",
           "torch": torch.__version__, "model": f"hmog depth {a.depth} on hmog5", "results": {}}
    settings = {"lab": {}, "paper": dict(batch_size=128, g_batch_size=128, n_critic=5)}
    for name in (["lab", "paper"] if a.settings == "both" else [a.settings]):
        for stack in a.stacks.split(","):
            r = measure(stack, frames, steps, warmup=1 if a.quick else 3, depth=a.depth, **settings[name])
            out["results"][f"{name}/{stack}"] = r
            print(f"{name:5s} {stack:10s} {r['fps']:6.1f} frames/s (CPU time; wall {r['fps_wall']:.1f}) at {steps} "
                  f"generator steps / frame, {r['bytes_per_frame']} bytes / frame")
    if a.json:
        os.makedirs(os.path.dirname(os.path.abspath(a.json)), exist_ok=True)
        with open(a.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
