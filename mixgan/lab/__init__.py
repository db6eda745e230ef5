"""The Mixture Lab: watch a mixture of generators train on 2-D data, live, in JupyterLab
(what GAN Lab does for one generator, for trees and mixtures).

    from mixgan.lab import MixtureLab
    lab = MixtureLab(toy="hmog5", model="hmog", seed=0, depth=3)
    lab                                  # the widget: Play / Pause / Reset, single steps, settings
    lab.advance(100); s = lab.state()    # the same lab, headless: numbers and arrays
    lab.save_animation("hmog5.gif", steps=300, every=10)

Headless runs (MIXGAN_HEADLESS set, as under papermill and the tests) show a static figure
of ``state()`` instead of the widget.
"""
import matplotlib.pyplot as plt

from ..utils import headless
from . import figure
from .core import LIVE, MIN_POINTS, MODELS_2D, Lab, check_points

__all__ = ["MixtureLab", "Lab", "MODELS_2D", "LIVE", "MIN_POINTS", "check_points"]


class MixtureLab(Lab):
    """A ``Lab`` that shows itself as a widget (see the module docstring and ``Lab``)."""

    _ui = None
    _quiet = False                                               # no redraw per advance (animations)

    @property
    def widget(self):
        """The ipywidgets box (built on first use)."""
        if self._ui is None:
            from .widget import LabWidget
            self._ui = LabWidget(self)
        return self._ui.widget

    def advance(self, n=1, progress=False):
        """As ``Lab.advance``; a widget already on screen shows the new step at once.  Training
        holds the widget's lock, so a button pressed meanwhile waits for the step to end."""
        ui = self._ui
        if ui is None:
            return super().advance(n, progress)
        with ui.lock:
            super().advance(n, progress)
        if not ui.playing and not self._quiet:                      # while playing, the loop redraws
            ui.push()
        return self

    def figure(self, arrows=True):
        """A matplotlib figure of ``state()``."""
        return figure.state_figure(self.state(), arrows)

    def save_animation(self, path, steps=300, every=10, fps=10, arrows=False):
        """Train `steps` more generator steps, one frame every `every`, to a GIF (pillow) or MP4.
        A widget on screen shows the last step when the file is written."""
        self._quiet = True
        try:
            return figure.save_animation(self, path, steps, every, fps, arrows)
        finally:
            self._quiet = False
            if self._ui is not None and not self._ui.playing:
                self._ui.push()

    def _ipython_display_(self):
        from IPython.display import display
        if headless():
            fig = self.figure()
            display(fig)
            plt.close(fig)
        else:
            display(self.widget)

    def play(self):
        """Start training in the background (the widget's Play)."""
        self.widget
        self._ui.play()

    def pause(self):
        if self._ui is not None:
            self._ui.pause()
