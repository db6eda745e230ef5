# The two commands of the README:  make demo   and   make test   (plus make lab).
# Each one creates or refreshes .venv when pyproject.toml changed, so a fresh clone needs nothing else.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.mixgan-installed
BROWSER_STAMP := $(VENV)/.mixgan-browser-installed
# The offline MNIST / Fashion-MNIST mirror beside the clone (as on the CI machines), unless already set.
ifeq ($(MIXGAN_MIRROR),)
  ifneq ($(wildcard ../shared/data),)
    export MIXGAN_MIRROR := $(abspath ../shared/data)
  endif
endif

.PHONY: demo test test-browser lab docs student venv clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.14.1 torchvision==0.29.1
	$(BIN)/python -m pip install -q -e ".[test,docs]"
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)          ## run notebook 00 headless on the embedded toy; prints where the outputs are
	$(BIN)/python -m mixgan.notebook 00_quickstart --out build/demo

test: $(STAMP)          ## the whole suite: unit tests, benchmarks' dry runs and every notebook (a worker per core)
	$(BIN)/python -m pytest -n auto --dist worksteal

# JupyterLab driven by headless Chromium (Debian's chromium, apt-get installed by the test when missing):
# the Mixture Lab plays and pauses, the explorers redraw.  Screenshots: build/browser/.  About 3 min on 2 cores.
$(BROWSER_STAMP): $(STAMP)
	$(BIN)/python -m pip install -q -e ".[browser]"
	touch $(BROWSER_STAMP)

test-browser: $(BROWSER_STAMP)  ## the real-browser tests (tests/browser; not part of make test)
	MIXGAN_BROWSER=1 $(BIN)/python -m pytest tests/browser -p no:cacheprovider

# JupyterLab of the venv.  Its own "python3" kernel IS the venv's Python (the notebooks ask for
# python3), so no second kernel is registered.  As root (containers) JupyterLab needs --allow-root;
# without a display it opens no browser (open the printed URL instead).
LAB_FLAGS := $(if $(filter 0,$(shell id -u)),--allow-root) $(if $(DISPLAY)$(WAYLAND_DISPLAY),,--no-browser)
lab: $(STAMP)           ## JupyterLab on the venv's python3 kernel
	$(BIN)/jupyter kernelspec list
	cd notebooks && ../$(BIN)/jupyter lab $(LAB_FLAGS)

# The course as a static site: every numbered notebook executed at its quick settings, then rendered
# (chapter pages with folded solutions, exercise pages without them).  Open build/site/index.html.
docs: $(STAMP)          ## build/site/: the executed course as HTML (offline; needs the [docs] extra)
	$(BIN)/python -c "import mkdocs_jupyter, material, jupyter_server_mathjax" 2>/dev/null || $(BIN)/python -m pip install -q -e ".[docs]"
	$(BIN)/python scripts/build_docs.py

student:                ## build/student/: the notebooks without their worked solutions, for students
	python3 scripts/strip_solutions.py --out build/student

clean:
	rm -rf build runs .pytest_cache
