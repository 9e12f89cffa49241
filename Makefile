# Dermal — see README.md. `make run` opens the app, `make test` runs the tests; both install
# what they need first (`make deps`).
SHELL := /bin/bash
GO ?= go
PYTHON ?= /usr/bin/python3
HAM ?= ../shared/data/ham10000
ISIC_ARCHIVE ?= ../shared/data/isic_archive
ISIC_ACRAL ?= ../shared/data/isic_acral
# Every training photo, as links in one folder: what `dermal eval` reads (make decoded).
IMAGES := build/images
BIN := bin/dermal
# Fyne's colour-emoji font is parsed once per text style and costs ~14 MB of resident memory at
# rest (BENCHMARKS.md); a clinical app shows no emoji.
export GOFLAGS += -tags=no_emoji

.PHONY: deps build run test lint bench bench-scale bench-window scale-data faults hub hub-test screenshots dist dist-test decoded model model-deps model-shift model-shift-3g model-train model-package clean

deps:
	@scripts/deps.sh

VERSION_STAMP = -X dermal/internal/version.stamped=$(shell scripts/version.sh)

build: deps
	$(GO) build -ldflags "$(VERSION_STAMP)" -o $(BIN) .

run: build
	./$(BIN)

# vet, staticcheck, then the suite under the race detector: every package it can drive (the
# cgo ones run; their C is just not instrumented). Not internal/ui: Fyne's test driver runs
# fyne.Do callbacks on the calling goroutine instead of one UI thread, so every background job
# "races" the test's own widget calls — an artefact of the driver, not of the app, where
# fyne.Do runs on the main thread. internal/ui then runs plainly, and so do the tests that
# measure allocations (the race build allocates differently). Last, `make dist-test` builds the
# Windows and Linux packages and runs them (under wine for Windows): ~15 of the ~30 minutes.
# DERMAL_REQUIRE_TOOLS makes a
# missing Chromium, Xvfb, ImageMagick, poppler or QEMU a failure here (plain `go test` skips).
RACE_PKGS = $(shell $(GO) list ./... | grep -v '/internal/ui$$')
# The audit trail's head is kept in the user's configuration folder (internal/storage/anchor.go);
# the tests keep theirs in build/, not in the home folder of whoever runs them.
test: export DERMAL_ANCHOR_DIR = $(CURDIR)/build/test-anchors
test:
	@scripts/deps.sh --test
	$(MAKE) --no-print-directory lint
	DERMAL_REQUIRE_TOOLS=1 $(GO) test -race -count=1 -timeout 30m $(RACE_PKGS)
	DERMAL_REQUIRE_TOOLS=1 $(GO) test -count=1 ./internal/ui
	DERMAL_REQUIRE_TOOLS=1 $(GO) test -count=1 -run 'TestDecodeCost' ./internal/inference
	$(MAKE) --no-print-directory dist-test

lint:
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

# Measures Dermal against onnxruntime-node and PyTorch on this machine and writes BENCHMARKS.md
# (about 2 minutes; fetches onnxruntime-node into build/bench the first time), then the storage
# and report benchmarks.
bench: build model-deps
	$(GO) build -o build/bench/bench ./tools/bench
	build/bench/bench -bin $(BIN) -out BENCHMARKS.md -python $(PYTHON)
	$(GO) test -run '^$$' -bench . -benchtime 20x ./internal/storage/
	$(GO) test -run '^$$' -bench . -benchtime 50x ./internal/report/
	$(GO) test -run '^$$' -bench 'Login|Hash' -benchtime 5x ./internal/clinic/ ./internal/accounts/
	@# Teleconsultation: two 12 MP referrals to a real Orthanc on loopback (time, bytes on the
	@# wire against the photos and letters, the Go heap the sync adds).
	$(GO) test -count=1 -run 'TestTwelveMegapixelReferrals' -v ./internal/clinic/ | grep 'two referrals'

# Records of a clinic's fifth year for the scale benchmarks (contract: make scale-data N=10000
# DATA=DIR PASSWORD_FILE=F; administrator admin, codes S-000001…): tools/scaledata, through the
# clinic layer. 100 kB photos: 100,000 patients take about 30 GB and 25 minutes here.
N ?= 100000
DATA ?= build/scale/$(N)
PASSWORD_FILE ?= build/scale/password
scale-data: deps
	@mkdir -p build/scale && chmod 700 build/scale
	@test -f $(PASSWORD_FILE) || { printf 'scale benchmark password\n' > $(PASSWORD_FILE); chmod 600 $(PASSWORD_FILE); }
	$(GO) build -o build/scaledata ./tools/scaledata
	build/scaledata -n $(N) -data $(DATA) -password-file $(PASSWORD_FILE)

# The scale benchmark → SCALE.md: the window's start and memory, the CLI, full and daily
# backups at each size (SCALE_SIZES; records kept in build/scale between runs).
SCALE_SIZES ?= 1000,10000
bench-scale: build
	$(GO) build -o build/bench/bench ./tools/bench
	build/bench/bench -bin $(BIN) -scale $(SCALE_SIZES) -out SCALE.md

# The window's rows of the scale benchmark alone (about 3 minutes once the records exist):
# its start and idle memory, and through analyses, beside the bare Fyne windows of the same
# run → build/bench/window.md (SCALE.md quotes its last result).
bench-window: build
	$(GO) build -o build/bench/bench ./tools/bench
	build/bench/bench -bin $(BIN) -scale $(SCALE_SIZES) -window-only -out build/bench/window.md
	@cat build/bench/window.md

# The fault benchmark: hostile photos at the 50 MP limit (peak RSS, time, refusal), four phone
# uploads at once, and the kill -9 figures; writes FAULTS.md (about 3 minutes).
# The district hub on this computer for trying teleconsultation (packaging/hub/hub: Orthanc +
# DICOMweb on a PostgreSQL index behind an nginx TLS proxy on 127.0.0.1:18443, logins clinic1
# and specialist with passwords in build/hub/); Ctrl+C stops it.
hub:
	@scripts/deps.sh --hub
	packaging/hub/try-here

# The district hub at scale (packaging/hub TestScaleOut): 20 clinics' `dermal hub sync`
# processes sending 25 referrals each at once to one node, then to two nodes on one PostgreSQL
# index with one killed in the middle; logs referrals per second and the nodes' memory (README
# "Setting up the district hub" has the last result). make test runs it at 4×5.
hub-test:
	@scripts/deps.sh --test
	DERMAL_HUB_SCALE=20x25 $(GO) test -count=1 -timeout 60m -run 'TestScaleOut' -v ./packaging/hub

faults: build
	$(GO) build -o build/faults/faults ./tools/faults
	build/faults/faults -bin $(BIN) -out FAULTS.md

# README screenshots from the real app under Xvfb, on demo records (look at them before committing).
screenshots: build
	rm -rf build/demo && mkdir -p build docs
	umask 077 && printf 'demo password\n' > build/demo-password
	./$(BIN) --data build/demo setup --clinic "Trạm Y tế xã Đồng Tâm" --address "Xã Đồng Tâm, huyện Mỹ Đức, Hà Nội" --phone "024 3384 1234" \
		--admin an --full-name "BS. Lê Văn An" --password-file build/demo-password >/dev/null
	./$(BIN) --data build/demo --user an --password-file build/demo-password patients add --name "Nguyễn Thị Hồng" --code BN-0142 --sex F --birth-year 1961 --phone "0912 345 678" \
		--address "Thôn 3, xã Đồng Tâm" --insurance GD4010123456789 --id-number 001161012345 >/dev/null
	./$(BIN) --data build/demo --user an --password-file build/demo-password patients add --name "Trần Văn Minh" --code BN-0143 --sex M --birth-year 1975 --phone "0987 654 321" >/dev/null
	./$(BIN) --data build/demo --user an --password-file build/demo-password patients add --name "Đặng Thị Lan" --code BN-0151 --sex F --birth-year 1988 >/dev/null
	./$(BIN) --data build/demo --user an --password-file build/demo-password assess --patient BN-0142 --map back:0.40,0.30 --follow-up $$(date +%F) internal/inference/testdata/fixtures/ISIC_0024311.png >/dev/null
	./$(BIN) --data build/demo --user an --password-file build/demo-password assess --patient BN-0142 --lesion 1 --diameter-mm 6 internal/inference/testdata/fixtures/ISIC_0024367.png >/dev/null
	./$(BIN) --data build/demo --user an --password-file build/demo-password assess --patient BN-0142 --map front:0.245,0.62 --photo-type plain --seven-point size,oozing --diameter-mm 8 \
		internal/inference/testdata/fixtures/ISIC_0024311.png >/dev/null
	./$(BIN) --data build/demo --user an --password-file build/demo-password assess --patient BN-0143 --map front:0.5,0.1 --follow-up $$(date -d '+3 days' +%F) internal/inference/testdata/fixtures/ISIC_0024311.png >/dev/null
	scripts/screenshot.sh docs/screenshot-en.png en build/demo --user an --password-file build/demo-password --open 2
	scripts/screenshot.sh docs/screenshot-vi.png vi build/demo --user an --password-file build/demo-password --open 2
	SCREEN=1024x600 scripts/screenshot.sh docs/login-vi-1024x600.png vi build/demo
	SCREEN=1024x600 scripts/screenshot.sh docs/new-assessment-vi-1024x600.png vi build/demo --user an --password-file build/demo-password --new-assessment 1
	for l in en vi; do for s in 1366x768 1024x600; do \
		SCREEN=$$s scripts/screenshot.sh docs/worklist-$$l-$$s.png $$l build/demo --user an --password-file build/demo-password && \
		SCREEN=$$s scripts/screenshot.sh docs/bodymap-$$l-$$s.png $$l build/demo --user an --password-file build/demo-password --open-patient 1 || exit 1; done; \
		DERMAL_CLINICIAN="BS. Lê Văn An" ./$(BIN) --data build/demo --user an --password-file build/demo-password report --assessment 3 --referral --to "Khoa Da liễu, Bệnh viện Tỉnh" --lang $$l -o build/demo/referral-$$l.pdf >/dev/null && \
		pdftoppm -r 70 -png build/demo/referral-$$l.pdf docs/referral-$$l || exit 1; done
	# The assessment with the dermoscopic checklist ticked (en, vi; 1366x768, 1024x600), driven
	# through the real screen and drawn by Fyne's software painter (internal/ui/screenshots_test.go).
	# The district hub (a real Orthanc the test starts): Today with a referral sent, the
	# specialist's inbox and case, and the reply arrived.
	DERMAL_SCREENSHOTS=$(CURDIR)/docs $(GO) test -count=1 -run '^TestScreenshots|^TestSpecialistDeskAndReplyArriving' ./internal/ui

# The model: from ../shared/data (HAM10000, the ISIC Archive folder, the acral folder) to the
# committed files in internal/assets/ (model 4, recipe 4: ~41 minutes of training and ~12 of
# packaging on 2 cores; see training/README.md). `make model-package` redoes the steps after training.
model: deps model-train model-package

# PyTorch frees and re-allocates its big activation buffers every step; glibc hands them back to
# the kernel and, on a VM that reports free pages to its host, every re-touch is a slow fault
# (a training step measured 0.56 s with glibc, 0.49 s with jemalloc set never to return memory;
# one glibc run spent 30-40% of its CPU in the kernel, 570 s an epoch instead of ~100). Peak ~3.3 GB.
TRAIN_PYTHON = LD_PRELOAD=libjemalloc.so.2 MALLOC_CONF=dirty_decay_ms:-1,muzzy_decay_ms:-1 $(PYTHON)

model-deps:
	@scripts/deps.sh --model

# How the make model recipe does on institutions it never saw (Hospital Clínic de Barcelona, the
# International Dermoscopy Society and HAM10000's rosendahl held out whole in turn), scored by the app's own Go path:
# build/shift-r4/RESULTS.md (the model card's "On an institution it never saw" rows, kept as
# training/shift/recipe-4.json), model 3.0.0 scored on the same photos (it never saw them:
# build/shift-r3g/RESULTS.md, kept in training/shift/model-3.0.0-heldout.json), and the risk
# tiers' review threshold chosen on the held-out runs (build/shift/operating-point.json; the
# card's comes from training/shift/operating-point.json). Three trainings, ~40-50 minutes each
# on 2 cores. Recipe 3g's rosendahl run is make model-shift-3g's (it retrains).
MODEL_SHIFT_HELD = bcn ids rosendahl
model-shift: deps model-deps decoded
	$(TRAIN_PYTHON) training/shift.py $(MODEL_SHIFT_HELD)
	SHIFT_RECIPE=3g $(PYTHON) training/shift.py bcn ids
	$(PYTHON) training/tiers.py --choose build/shift/operating-point.json $(foreach h,$(MODEL_SHIFT_HELD),build/shift/$(h)-r4)

# Model 3.0.0's recipe (3g, HAM10000 alone) with HAM10000's vidir_modern and rosendahl sources
# held out in turn (the card's rows for them; training/shift/recipe-3g.json).
model-shift-3g: deps model-deps decoded
	SHIFT_RECIPE=3g $(TRAIN_PYTHON) training/shift.py vidir_modern rosendahl

# Every training photo decoded once by the app's own intake (tools/hamdecode), and linked into
# one folder for `dermal eval`.
decoded: deps
	$(GO) run ./tools/hamdecode -images $(HAM)/images,$(ISIC_ARCHIVE)/images,$(ISIC_ACRAL)/images -out build/decoded/all-go.u8
	rm -rf $(IMAGES) && mkdir -p $(IMAGES)
	for d in $(HAM) $(ISIC_ARCHIVE) $(ISIC_ACRAL); do find "$$(realpath $$d/images)" -name '*.jpg' -exec ln -s -t $(IMAGES) {} + || exit 1; done

model-train: model-deps decoded
	$(PYTHON) training/split.py
	$(TRAIN_PYTHON) training/train.py

model-package: deps model-deps decoded
	$(TRAIN_PYTHON) training/export.py
	$(TRAIN_PYTHON) training/quantize.py
	$(TRAIN_PYTHON) training/evaluate.py
	$(PYTHON) training/colour_reference.py
	$(PYTHON) -c 'import sys; sys.path.insert(0, "training"); import common; common.write_eval_labels("build/model/labels.csv")'
	cp build/model/dermal-int8.onnx build/model/ood-pca.bin internal/assets/
	cp build/model/card-draft.json internal/assets/model.json
	$(GO) build -o build/model/dermal-draft .
	for v in int8:card-draft fp32:card-fp32; do for s in val test; do \
		build/model/dermal-draft --model build/model/dermal-$${v%%:*}.onnx --card build/model/$${v##*:}.json \
			eval --labels build/model/labels.csv --split $$s --logits-out build/model/$${v%%:*}_$$s.json $(IMAGES) > /dev/null \
			|| exit 1; done; done
	$(PYTHON) training/card.py
	$(GO) run . eval --labels build/model/labels.csv --split test $(IMAGES)

# Installable packages for a clinic laptop (Windows installer and zip, Linux tar.xz and .deb):
# build/dist/. About 10 minutes from a cold cache on 2 cores (scripts/dist.sh).
dist:
	scripts/dist.sh

# Runs the packages of `make dist` as an IT volunteer would: the Windows build and its
# installer under wine, the Linux tar.xz and .deb unpacked into empty folders (scripts/dist-test.sh).
dist-test: dist
	scripts/dist-test.sh

clean:
	rm -rf bin build
