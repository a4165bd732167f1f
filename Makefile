# SwiftClas: the two commands are `make quickstart` (set up, train, evaluate, classify) and `make test`.
SWIFT       ?= swift
RELEASE      = -c release
TOOLS        = .build/release/tools
APT_PACKAGES = libopenblas-dev libpng-dev libjpeg62-turbo-dev libturbojpeg0-dev zlib1g-dev dataset-fashion-mnist libopenmpi-dev openmpi-bin
FMNIST_SRC  ?= /usr/share/datasets/fashion-mnist
QUICKSTART  ?= configs/quickstart_mobilenet_v3_small_fmnist.yaml
PREFIX      ?= /usr/local

.PHONY: quickstart test deps build dataset install bench fuzz clean

## Install what is missing, build, prepare Fashion-MNIST, train the quickstart model, evaluate it, classify images.
quickstart: deps build dataset
	$(TOOLS) train -c $(QUICKSTART)
	$(TOOLS) eval -c $(QUICKSTART) -o Global.pretrained_model=output/MobileNetV3_small_x1_0/best_model
	$(TOOLS) infer -c $(QUICKSTART) -o Global.pretrained_model=output/MobileNetV3_small_x1_0/best_model \
	    -o Infer.infer_imgs=dataset/fashion-mnist/samples

## Build and run every test (release mode: the numeric tests need optimised code).
test:
	$(SWIFT) build $(RELEASE) --build-tests -Xswiftc -enable-testing
	$(SWIFT) test $(RELEASE) -Xswiftc -enable-testing --skip-build

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

## Fashion-MNIST from Debian's IDX files to PNG folders and PaddleClas list files.
dataset: build
	$(TOOLS) dataset fashion-mnist --source $(FMNIST_SRC) --out dataset/fashion-mnist

## A release binary with the Swift runtime linked in (needs only OpenBLAS, libpng, libjpeg-turbo, zlib at run time),
## and bash/zsh/fish completions. Built in its own scratch folder so the development build stays incremental.
STATIC_BUILD = .build-static
install:
	$(SWIFT) build $(RELEASE) --product tools --static-swift-stdlib --scratch-path $(STATIC_BUILD)
	install -D -m 755 $(STATIC_BUILD)/release/tools $(PREFIX)/bin/tools
	mkdir -p $(PREFIX)/share/bash-completion/completions $(PREFIX)/share/zsh/site-functions \
	    $(PREFIX)/share/fish/vendor_completions.d
	$(PREFIX)/bin/tools --generate-completion-script bash > $(PREFIX)/share/bash-completion/completions/tools
	$(PREFIX)/bin/tools --generate-completion-script zsh > $(PREFIX)/share/zsh/site-functions/_tools
	$(PREFIX)/bin/tools --generate-completion-script fish > $(PREFIX)/share/fish/vendor_completions.d/tools.fish

## Side-by-side training throughput against PyTorch (needs ../shared/bench and its peer venv).
bench: build
	bash ../shared/bench/side_by_side.sh mobilenetv3_small_100 224 32 train 3

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
