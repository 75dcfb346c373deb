# `make demo` and `make test` work on a fresh Debian machine with Python >= 3.10.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
FMNIST := /usr/share/datasets/fashion-mnist
JOBS   ?= 2

# OpenBLAS's AVX-512 sgemm kernels run at twice the speed of the Haswell ones that some
# environments pin (measured: 164 -> 328 GFLOP/s on this project's 2-core EPYC). The make
# targets choose them on CPUs with avx512f; `import foveanet` alone respects any setting.
ifneq ($(shell grep -m1 -ow avx512f /proc/cpuinfo 2>/dev/null),)
export OPENBLAS_CORETYPE := SKYLAKEX
endif
# `import foveanet` leaves the process alone; every process make starts is tuned for
# training (OpenBLAS's idle threads, glibc's freed memory: foveanet/backend/cpu/process.py)
export FOVEANET_TUNE_PROCESS := 1

.PHONY: demo strong segment test install mpi data bench docs clean chromium medical-data ocr-data ocr-fonts

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP) mpi chromium ocr-data

# OpenMPI for `mpirun -n N foveanet train` and the MPI tests (tests/distributed), from Debian
mpi:
	@if command -v mpirun >/dev/null; then \
	  true; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  (apt-get install -y -q openmpi-bin libopenmpi-dev || \
	   (apt-get update -q && apt-get install -y -q openmpi-bin libopenmpi-dev)) >/dev/null && \
	  echo "OpenMPI installed: $$(mpirun --version | head -1)"; \
	else \
	  echo "No mpirun and not root: install OpenMPI to train on several processes (the MPI tests skip)"; \
	fi

# Debian's chromium for the explorer's browser tests (tests/explore: Playwright drives it;
# Playwright's own browser download is not needed), as root with apt; they skip without it
chromium:
	@if [ -x /usr/bin/chromium ]; then \
	  true; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  (apt-get install -y -q chromium || \
	   (apt-get update -q && apt-get install -y -q chromium)) >/dev/null && \
	  echo "chromium installed: $$(/usr/bin/chromium --version)"; \
	else \
	  echo "No /usr/bin/chromium and not root: install Debian's chromium for the explorer's browser tests (they skip)"; \
	fi

# Fashion-MNIST from Debian's package when we are root with apt; otherwise the loader
# looks in ~/.cache/foveanet and $$FOVEANET_DATA, then downloads, and says what to do.
data:
	@if [ -f $(FMNIST)/train-images-idx3-ubyte.gz ]; then \
	  echo "Fashion-MNIST: $(FMNIST)"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  (apt-get install -y -q dataset-fashion-mnist || \
	   (apt-get update -q && apt-get install -y -q dataset-fashion-mnist)) >/dev/null && \
	  echo "Fashion-MNIST installed in $(FMNIST)"; \
	else \
	  echo "Not root: Fashion-MNIST will be downloaded to ~/.cache/foveanet on first use"; \
	fi

# OCR (foveanet ocr): fonts to render lines from, Tesseract (eng + ori) as the anchor, and
# OpenCV's digits.png (opencv-doc), from Debian, and the Odia translations (gettext catalogues)
# that the Odia lines' text comes from; the OCR tests skip what is missing
OCR_DEBS := fonts-dejavu fonts-liberation fonts-noto-core fonts-noto-extra fonts-freefont-ttf fonts-lohit-orya fonts-orya-extra \
  fonts-samyak-orya tesseract-ocr tesseract-ocr-ori opencv-doc \
  iso-codes libgtk-3-common libglib2.0-data libgdk-pixbuf2.0-common at-spi2-common \
  system-config-printer-common gsettings-desktop-schemas
# Odia faces that Debian does not package, from the npm registry: Fontsource's WOFF2 builds
# of the Google Fonts releases of Noto Serif Oriya, Anek Odia and Baloo Bhaina 2 (SIL Open Font
# Licence), fetched with Python's urllib (no curl on a bare Debian), pinned by version and
# sha256; only the Oriya-subset files and the licence are kept,
# under $$XDG_DATA_HOME/fonts/fontsource (foveanet/ocr/render.py FONTSOURCE_DIR)
FONTSOURCE := $${XDG_DATA_HOME:-$$HOME/.local/share}/fonts/fontsource
NPM_FONTS := \
  @fontsource-variable/noto-serif-oriya/-/noto-serif-oriya-5.3.0.tgz=c01abaad002fb214234366014a73852f27224abc78ec48d76dcff39183bbd104 \
  @fontsource-variable/anek-odia/-/anek-odia-5.3.0.tgz=ab548d3916c18dac87076f6daddc384f8af64fb3322209c519840664952dedac \
  @fontsource/baloo-bhaina-2/-/baloo-bhaina-2-5.2.8.tgz=ac69fbc28d04fda8d5aebfe6aeb659e5a9786f309327470ae2456e718b15caa8
ocr-fonts:
	@for spec in $(NPM_FONTS); do \
	  path=$${spec%%=*}; sum=$${spec##*=}; name=$${path%%/-/*}; dir=$(FONTSOURCE)/$${name##*/}; \
	  [ -f $$dir/.sha256 ] && [ "$$(cat $$dir/.sha256)" = "$$sum" ] && continue; \
	  tmp=$$(mktemp); \
	  if $(PYTHON) -c 'import sys, urllib.request; urllib.request.urlretrieve(*sys.argv[1:])' \
	      https://registry.npmjs.org/$$path $$tmp 2>/dev/null && echo "$$sum  $$tmp" | sha256sum -c --quiet \
	      && mkdir -p $$dir && tar xzf $$tmp -C $$dir --strip-components=2 --wildcards 'package/files/*-oriya-*.woff2' --exclude='*-latin*' \
	      && tar xzf $$tmp -C $$dir --strip-components=1 package/LICENSE; then \
	    echo $$sum > $$dir/.sha256; echo "Odia font $$name installed in $$dir"; \
	  else \
	    echo "Could not fetch $$name from registry.npmjs.org, or its sha256 differs: Odia training lacks it (its tests skip)"; \
	  fi; \
	  rm -f $$tmp; \
	done

ocr-data: ocr-fonts
	@if [ -f /usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf ] && [ -f /usr/share/fonts/truetype/freefont/FreeMono.ttf ] \
	    && [ -f /usr/share/fonts/truetype/noto/NotoSansMono-Medium.ttf ] \
	    && [ -f /usr/share/fonts/truetype/fonts-orya-extra/utkal.ttf ] && [ -f /usr/share/locale/or/LC_MESSAGES/system-config-printer.mo ] \
	    && [ -f /usr/share/fonts/truetype/samyak-fonts/Samyak-Oriya.ttf ] && [ -f /usr/share/fonts/truetype/noto/NotoSansOriya-Black.ttf ] && command -v tesseract >/dev/null \
	    && [ -f /usr/share/doc/opencv-doc/examples/data/digits.png ] && tesseract --list-langs 2>/dev/null | grep -qx ori; then \
	  true; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  (apt-get install -y -q $(OCR_DEBS) || \
	   (apt-get update -q && apt-get install -y -q $(OCR_DEBS))) >/dev/null && \
	  echo "OCR fonts, Tesseract and OpenCV's digits installed"; \
	else \
	  echo "Not root: install $(OCR_DEBS) for foveanet ocr (its tests skip without them)"; \
	fi

# one real MRI head (Colin27), its brain mask, atlases and a macaque template (mricron-data),
# and one real head CT (invesalius-examples): `foveanet medical` and tests/medical
medical-data:
	@if [ -f /usr/share/mricron/templates/ch2bet.nii.gz ] && [ -f /usr/share/doc/invesalius-examples/examples/Cranium.inv3 ]; then \
	  echo "Medical volumes: /usr/share/mricron/templates, /usr/share/doc/invesalius-examples/examples"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  (apt-get install -y -q mricron-data invesalius-examples || \
	   (apt-get update -q && apt-get install -y -q mricron-data invesalius-examples)) >/dev/null && \
	  echo "Medical volumes installed (mricron-data, invesalius-examples)"; \
	else \
	  echo "Not root: apt-get install mricron-data invesalius-examples for \`foveanet medical\` (its tests skip)"; \
	fi

# each demo is a fresh run directory, so `make demo` can be run again
demo: install data
	$(VENV)/bin/foveanet train --model lenet5 --dataset fashion-mnist --out runs/demo-lenet5-$$(date +%Y%m%d-%H%M%S)

# the strong recipe: vgg_small on Fashion-MNIST, both cores: 17 min on a 2-core EPYC, 32 on a 2-core Xeon
strong: install data
	$(PY) benchmarks/train_fashion.py --recipe strong --out runs/strong-vgg_small-$$(date +%Y%m%d-%H%M%S)

# U-Net on composed Fashion-MNIST scenes: issue 8's default recipe, both cores, ~15 minutes here
segment: install data
	$(VENV)/bin/foveanet segment train --out runs/segment-unet-$$(date +%Y%m%d-%H%M%S)

test: install data medical-data
	$(PY) -m pytest -n $(JOBS) -q

bench: install data
	$(PY) -m benchmarks.run

# the site in site/: the lecture and the API pages regenerated from the code, then mkdocs in
# strict mode (a broken link, a stale page or a docstring griffe cannot read fails the build);
# the notebooks are executed into the pages
docs: install data
	$(PY) -m foveanet.docs.build
	$(PY) -m foveanet.docs.api
	@# each notebook's kernel logs a warning that its local TCP link is unencrypted: the
	@# kernels run with log level ERROR (a failing cell still fails the build)
	@kdir=$$(mktemp -d) && mkdir -p $$kdir/profile_default && \
	  echo 'c.IPKernelApp.log_level = "ERROR"' > $$kdir/profile_default/ipython_kernel_config.py && \
	  IPYTHONDIR=$$kdir NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict; \
	  rc=$$?; rm -rf $$kdir; exit $$rc
	@echo "open site/index.html"

clean:
	rm -rf $(VENV) runs build dist site *.egg-info
