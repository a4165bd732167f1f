# SwiftClas: the two commands are `make quickstart` (set up, train, evaluate, classify) and `make test`.
SWIFT       ?= swift
RELEASE      = -c release
TOOLS        = .build/release/tools
APT_PACKAGES = libopenblas0-pthread libblis4-pthread libpng-dev libjpeg62-turbo-dev libturbojpeg0-dev zlib1g-dev \
               dataset-fashion-mnist libopenmpi-dev openmpi-bin python3-venv
FMNIST_SRC  ?= /usr/share/datasets/fashion-mnist
QUICKSTART  ?= configs/quickstart_mobilenet_v3_small_fmnist.yaml
PREFIX      ?= /usr/local

.PHONY: quickstart test measure measure-multilabel pyenv deps build dataset install bench bench-venv bench-data fuzz clean

## Install what is missing, build, prepare Fashion-MNIST, train the quickstart model, evaluate it, classify images.
quickstart: deps build dataset
	$(TOOLS) train -c $(QUICKSTART) --overwrite
	$(TOOLS) eval -c $(QUICKSTART) -o Global.pretrained_model=output/MobileNetV3_small_x1_0/best_model
	$(TOOLS) infer -c $(QUICKSTART) -o Global.pretrained_model=output/MobileNetV3_small_x1_0/best_model \
	    -o Infer.infer_imgs=dataset/fashion-mnist/samples

## The Python the interoperability tests run (onnxruntime, safetensors, TensorBoard): this repository's .venv, which
## `make test` creates first (`make pyenv`; packages from scripts/requirements-test.txt), else python3 on the PATH;
## set CLAS_PYTHON to use another. If the venv cannot be made (no network), `make test` warns and those tests are
## skipped with the reason; under CI=true it stops instead, and a test that cannot import its module fails.
PYENV       ?= .venv
CLAS_PYTHON ?= $(if $(wildcard $(PYENV)/bin/python),$(CURDIR)/$(PYENV)/bin/python,)
export CLAS_PYTHON

## Build and run every test (release mode: the numeric tests need optimised code).
test:
	@$(MAKE) --no-print-directory pyenv || { \
	    if [ "$$CI" = true ]; then echo "error: make pyenv failed; the Python tests cannot run (CI=true)" >&2; exit 1; fi; \
	    echo "WARNING: make pyenv failed; the Python interoperability tests will be SKIPPED (each says why)" >&2; }
	$(SWIFT) build $(RELEASE) --build-tests -Xswiftc -enable-testing
	$(SWIFT) test $(RELEASE) -Xswiftc -enable-testing --skip-build

## A virtual environment with the interoperability tests' Python packages (scripts/requirements-test.txt); needs
## python3-venv (in APT_PACKAGES). Fails if anything cannot be installed; does nothing once made.
pyenv: $(PYENV)/.installed
$(PYENV)/.installed: scripts/requirements-test.txt
	python3 -m venv $(PYENV)
	$(PYENV)/bin/python -m pip install --disable-pip-version-check -q -r scripts/requirements-test.txt
	$(PYENV)/bin/python -c "import numpy, safetensors, onnx, onnxruntime, tensorboard"
	touch $@
	@echo "pyenv ready: $(PYENV)"

## The measurements behind README's Fashion-MNIST export/int8 table, asserted at README's bounds
## (Tests/ClasExportTests/FashionMNISTMeasurement.swift): trains MobileNetV3-small on Fashion-MNIST, quantises it
## (post-training and quantisation-aware), then compares SwiftClas with onnxruntime on the 10,000 test images.
## Slow (the 30-epoch training is about an hour on 2 cores); needs `make pyenv`. Everything goes to $(MEASURE_DIR).
MEASURE_CONFIG ?= configs/mobilenet_v3_small_fmnist.yaml
MEASURE_DIR    ?= output/measure
MEASURE_ARCH   ?= MobileNetV3_small_x1_0
measure: build dataset
	$(TOOLS) train -c $(MEASURE_CONFIG) -o Global.output_dir=$(MEASURE_DIR) --overwrite
	$(TOOLS) quantize -c $(MEASURE_CONFIG) -o Global.output_dir=$(MEASURE_DIR) \
	    -o Global.pretrained_model=$(MEASURE_DIR)/$(MEASURE_ARCH)/best_model -o Global.save_inference_dir=$(MEASURE_DIR)/int8
	$(TOOLS) compress -c $(MEASURE_CONFIG) -o Global.output_dir=$(MEASURE_DIR) \
	    -o Global.pretrained_model=$(MEASURE_DIR)/$(MEASURE_ARCH)/best_model \
	    -o Global.epochs=2 -o Global.iter_per_epoch=200 -o Optimizer.lr.learning_rate=0.005 \
	    -o Optimizer.lr.warmup_epoch=0 -o Global.save_inference_dir=$(MEASURE_DIR)/qat
	$(SWIFT) build $(RELEASE) --build-tests -Xswiftc -enable-testing
	CLAS_EXPORT_MEASURE_CONFIG=$(MEASURE_CONFIG) \
	CLAS_EXPORT_MEASURE_WEIGHTS=$(MEASURE_DIR)/$(MEASURE_ARCH)/best_model \
	CLAS_EXPORT_MEASURE_INT8=$(MEASURE_DIR)/$(MEASURE_ARCH)/quant_model,$(MEASURE_DIR)/compress/$(MEASURE_ARCH)/best_model \
	    $(SWIFT) test $(RELEASE) -Xswiftc -enable-testing --skip-build --filter FashionMNISTMeasurement

## Debian packages (skipped when already installed).
deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	    echo "installing:$$missing"; \
	    SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	    $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q $$missing; \
	fi

build:
	$(SWIFT) build $(RELEASE) --product tools

## README's multi-label and attribute figures: derived Fashion-MNIST sets, 5 epochs of each configs/pulc config
## (about 10-20 minutes each on 2 cores), tools eval, a Markdown summary in output/measure-multilabel/summary.md.
measure-multilabel: build
	scripts/measure_multilabel.sh

## Fashion-MNIST from Debian's IDX files to PNG folders and PaddleClas list files.
dataset: build
	$(TOOLS) dataset fashion-mnist --source $(FMNIST_SRC) --out dataset/fashion-mnist

## A release binary with the Swift runtime linked in (needs only OpenBLAS, libpng, libjpeg-turbo, zlib at run time),
## and bash/zsh/fish completions. Built in its own scratch folder so the development build stays incremental.
STATIC_BUILD = .build-static
install:
	$(SWIFT) build $(RELEASE) --product tools --static-swift-stdlib --scratch-path $(STATIC_BUILD)
	install -D -m 755 $(STATIC_BUILD)/release/tools $(PREFIX)/bin/tools
	mkdir -p $(PREFIX)/share/swiftclas && cp -R configs ppcls-style-configs $(PREFIX)/share/swiftclas/
	mkdir -p $(PREFIX)/share/bash-completion/completions $(PREFIX)/share/zsh/site-functions \
	    $(PREFIX)/share/fish/vendor_completions.d
	$(PREFIX)/bin/tools --generate-completion-script bash > $(PREFIX)/share/bash-completion/completions/tools
	$(PREFIX)/bin/tools --generate-completion-script zsh > $(PREFIX)/share/zsh/site-functions/_tools
	$(PREFIX)/bin/tools --generate-completion-script fish > $(PREFIX)/share/fish/vendor_completions.d/tools.fish

## The PyTorch + timm + onnxruntime peers of the benchmarks (bench/README.md), in their own venv.
BENCH_VENV ?= .venv-bench
bench-venv:
	bash bench/setup-peers.sh $(BENCH_VENV)

## Side-by-side training throughput and memory against PyTorch (bench/side_by_side.sh; `make bench-venv` first).
bench: build
	PEER_VENV=$(BENCH_VENV) bash bench/side_by_side.sh mobilenetv3_small_100 224 32 train 3

## Image decode + transform throughput, printed (Tests/ClasDataTests/ThroughputTests.swift).
bench-data:
	$(SWIFT) build $(RELEASE) --build-tests -Xswiftc -enable-testing
	CLASDATA_BENCH=1 $(SWIFT) test $(RELEASE) -Xswiftc -enable-testing --skip-build --filter ThroughputTests

## libFuzzer + AddressSanitizer runs of the untrusted-input readers, FUZZ_SECONDS each, one after another
## (separate package in Fuzz/, see Fuzz/README.md; new corpus entries go to Fuzz/.work, crashes to Fuzz/.work/artifacts;
## instrumented libpng/libjpeg-turbo from Fuzz/instrumented_deps.sh are used when Fuzz/.work/deps/lib exists).
FUZZ_SECONDS ?= 120
FUZZ_TARGETS ?= FuzzConfig FuzzSafetensors FuzzPNG FuzzJPEG FuzzBMP FuzzTorch
fuzz:
	cd Fuzz && $(SWIFT) build $(RELEASE) --sanitize fuzzer --sanitize address -Xswiftc -sanitize=fuzzer
	cd Fuzz && for t in $(FUZZ_TARGETS); do \
	    mkdir -p .work/$$t .work/artifacts; \
	    dict=""; [ -f dict/$$t.dict ] && dict="-dict=dict/$$t.dict"; \
	    libs=""; [ -d .work/deps/lib ] && libs="env LD_LIBRARY_PATH=.work/deps/lib"; \
	    $$libs .build/release/$$t .work/$$t corpus/$$t $$dict -max_total_time=$(FUZZ_SECONDS) -timeout=10 \
	        -artifact_prefix=.work/artifacts/$$t- -print_final_stats=1 || exit 1; \
	done

clean:
	rm -rf .build $(STATIC_BUILD) output Fuzz/.build Fuzz/.work
