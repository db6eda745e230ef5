"""The lab's panels drawn with matplotlib: the static figure of headless runs and the frames
of ``save_animation`` (a GIF through pillow, or an MP4 through ffmpeg when it is installed)."""
import numpy as np
import matplotlib.pyplot as plt
from matplotlib import animation

PALETTE = plt.get_cmap("tab10").colors + plt.get_cmap("Set2").colors


def colours(gen):
    return np.asarray(PALETTE)[np.asarray(gen) % len(PALETTE)]


def _data_panel(ax, s, arrows=True):
    lo, hi = s["extent"]
    ax.clear()
    ax.imshow(s["critic"], origin="lower", extent=(lo, hi, lo, hi), cmap="RdBu_r", alpha=0.55, aspect="auto")
    if len(s["real"]):
        ax.scatter(*s["real"][:1000].T, s=3, c="0.15", alpha=0.35, linewidths=0, label="real")
    if len(s["drawn"]):
        ax.scatter(*s["drawn"].T, s=4, c="k", linewidths=0)
    if np.isfinite(s["fake"]).all():
        ax.scatter(*s["fake"].T, s=7, c=colours(s["generator"]), linewidths=0)
        if arrows and len(s["arrows"]):
            a = s["arrows"]
            ax.quiver(a[:, 0], a[:, 1], a[:, 2], a[:, 3], color="k", alpha=0.6, width=0.004)
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
    ax_use.set_title("usage per generator", fontsize=9)
    h = s["history"]
    if h["step"]:
        ax_cur.plot(h["step"], h["d_loss"], lw=0.8, label="critic loss")
        ax_cur.plot(h["step"], h["g_loss"], lw=0.8, label="generator loss")
    if h["eval_step"]:
        ax2 = ax_cur.twinx()
        ax2.plot(h["eval_step"], h["modes"], "k-", lw=1.2, label="modes")
        ax2.plot(h["eval_step"], np.asarray(h["high_quality"]) * max(1, max(h["modes"] or [1])), "g--", lw=1,
                 label="high quality (scaled)")
        ax2.set_ylim(bottom=0)
        ax2.legend(fontsize=6, loc="lower right")
    if h["step"]:
        ax_cur.legend(fontsize=6, loc="upper right")
    else:
        ax_cur.text(0.5, 0.5, "no steps yet", ha="center", va="center", transform=ax_cur.transAxes, fontsize=8)
    sc = s["scores"]
    ax_cur.set_title(f"modes {sc['modes']}, high quality {sc['high_quality']:.2f}", fontsize=9)


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
