"""The lab's panels drawn with matplotlib: the static figure of headless runs and the frames
of ``save_animation`` (a GIF through pillow, or an MP4 through ffmpeg when it is installed)."""
import numpy as np
import matplotlib.pyplot as plt
from matplotlib import animation
from matplotlib.ticker import MaxNLocator

from ..plots.toy import palette

# Generator k is drawn in PALETTE[k % 18]: the kit's generator palette (``plots.toy.palette``: tab20's nine
# dark shades, then its nine light ones, without grey, the real points' colour).  lab.js holds the same list.
PALETTE = tuple(tuple(float(v) for v in c[:3]) for c in palette(18))
REAL = "0.55"                      # real points: grey, half transparent, drawn under the fakes


def colours(gen):
    """RGB rows [n, 3] for generator indices gen [n] (any ints; wraps around PALETTE)."""
    return np.asarray(PALETTE)[np.asarray(gen) % len(PALETTE)]


def _data_panel(ax, s, arrows=True):
    lo, hi = s["extent"]
    ax.clear()
    ax.imshow(s["critic"], origin="lower", extent=(lo, hi, lo, hi), cmap="RdBu_r", alpha=0.55, aspect="auto")
    if len(s["real"]):
        ax.scatter(*s["real"][:1000].T, s=3, c=REAL, alpha=0.5, linewidths=0, label="real", zorder=1)
    if len(s["drawn"]):
        ax.scatter(*s["drawn"].T, s=4, c="k", linewidths=0, zorder=1)
    if np.isfinite(s["fake"]).all():
        if arrows and len(s["arrows"]):                         # thin and light, under the fakes
            a = s["arrows"]
            ax.quiver(a[:, 0], a[:, 1], a[:, 2], a[:, 3], color="k", alpha=0.35, width=0.0025, zorder=2)
        ax.scatter(*s["fake"].T, s=7, c=colours(s["generator"]), linewidths=0, zorder=3)
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_title(f"data · step {s['step']}  (fakes coloured by generator)", fontsize=9)


def _side_panels(axes, s):
    ax_lat, ax_use, ax_cur = axes
    for ax in axes:
        ax.clear()
    lat = s["latent"]
    if lat is None:
        ax_lat.text(0.5, 0.5, "no latent plane\n(generator chosen at random)", ha="center", va="center", fontsize=8)
        ax_lat.set_axis_off()
    elif lat["kind"] == "grid":
        lo, hi = lat["extent"]
        ax_lat.imshow(colours(lat["labels"]), origin="lower", extent=(lo, hi, lo, hi))
    else:
        ax_lat.scatter(*lat["z"].T, s=4, c=colours(lat["labels"]), linewidths=0)
    ax_lat.set_title("latent plane (z1, z2)", fontsize=9)
    K = s["K"]
    ax_use.bar(np.arange(K), s["usage"], color=colours(np.arange(K)))
    if K <= 10:
        ax_use.set_xticks(np.arange(K))
    else:
        ax_use.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax_use.set_xlabel("generator", fontsize=8, labelpad=1)
    ax_use.set_title("usage per generator", fontsize=9)
    _curves(ax_cur, s)


def _curves(ax, s):
    """Losses (left axis) and the scores at the evaluated steps (right axis) against the step;
    before the first step a plain 'no steps yet' panel."""
    h, sc = s["history"], s["scores"]
    ax.set_title(f"modes {sc['modes']}, high quality {sc['high_quality']:.2f}", fontsize=9)
    if not h["step"]:
        ax.set_xticks([])
        ax.set_yticks([])
        ax.text(0.5, 0.5, "no steps yet\n(Play, or advance(n))", ha="center", va="center",
                transform=ax.transAxes, fontsize=9, color="0.3")
        return
    lines = ax.plot(h["step"], h["d_loss"], lw=0.8, color="#1f77b4", label="critic loss")
    lines += ax.plot(h["step"], h["g_loss"], lw=0.8, color="#ff7f0e", label="generator loss")
    ax.set_xlabel("generator step", fontsize=8)
    ax.set_ylabel("loss", fontsize=8)
    if h["eval_step"]:
        top = max(1, np.nanmax(np.asarray(h["modes"], float), initial=1))
        ax2 = ax.twinx()
        lines += ax2.plot(h["eval_step"], h["modes"], "k-", lw=1.2, label="modes covered")
        lines += ax2.plot(h["eval_step"], np.asarray(h["high_quality"]) * top, "g--", lw=1,
                          label=f"high-quality fraction × {top:g}")
        ax2.set_ylim(bottom=0)
        ax2.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax2.set_ylabel("modes covered", fontsize=8)
    ax.legend(lines, [l.get_label() for l in lines], fontsize=7, ncol=2, loc="upper center",
              bbox_to_anchor=(0.5, -0.16), frameon=False, handlelength=1.5, columnspacing=1)


def state_figure(s, arrows=True):
    """One figure of a ``Lab.state()``: the data panel (critic heatmap, real points, fakes by
    generator, gradient arrows), the latent plane, usage bars and the curves."""
    fig = plt.figure(figsize=(10, 4))
    gs = fig.add_gridspec(2, 3, width_ratios=[2, 1, 1.4])
    ax = fig.add_subplot(gs[:, 0])
    side = [fig.add_subplot(gs[0, 1]), fig.add_subplot(gs[1, 1]), fig.add_subplot(gs[:, 2])]
    _data_panel(ax, s, arrows)
    _side_panels(side, s)
    if s["diverged"]:
        fig.suptitle(s["diverged"], color="crimson", fontsize=8)
    fig.tight_layout()
    return fig


def save_animation(lab, path, steps=500, every=10, fps=10, arrows=False):
    """Train `lab` for `steps` more generator steps and write a frame every `every` steps to
    `path` (.gif through pillow; .mp4 through ffmpeg).  Returns the path."""
    path = str(path)
    if not path.endswith((".gif", ".mp4")):
        raise ValueError(f"save_animation writes .gif or .mp4 files, got {path!r}")
    for name, v in (("steps", steps), ("every", every), ("fps", fps)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    n_frames = steps // every + 1

    def frame(i):
        if i:
            lab.advance(every)
        _data_panel(ax, lab.state(), arrows)
        return []

    anim = animation.FuncAnimation(fig, frame, frames=n_frames, blit=False, repeat=False)
    writer = animation.PillowWriter(fps=fps) if path.endswith(".gif") else animation.FFMpegWriter(fps=fps)
    try:
        anim.save(path, writer=writer)
    finally:
        plt.close(fig)
    return path
