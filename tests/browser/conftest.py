"""The real-browser tests start JupyterLab and headless Chromium: minutes, and a browser.
They run with `make test-browser` (which sets MIXGAN_BROWSER=1), not in `make test`."""
import os

collect_ignore_glob = [] if os.environ.get("MIXGAN_BROWSER") == "1" else ["test_*.py"]
