# Dermal — see README.md. `make run` opens the app, `make test` runs the tests; both install
# what they need first (`make deps`).
SHELL := /bin/bash
GO ?= go
PYTHON ?= /usr/bin/python3
HAM ?= ../shared/data/ham10000
BIN := bin/dermal

.PHONY: deps build run test lint bench model model-train model-package clean

deps:
	@scripts/deps.sh

build: deps
	$(GO) build -o $(BIN) .

run: build
	./$(BIN)

test: deps
	$(GO) vet ./...
	$(GO) test -count=1 ./...

lint:
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

bench: build
	$(GO) test -run '^$$' -bench . -benchtime 200x ./inference/
	$(GO) test -run '^$$' -bench . -benchtime 20x ./storage/
	$(GO) test -run '^$$' -bench . -benchtime 50x ./report/

# The model: from ../shared/data/ham10000 to the committed files in assets/ (CPU, about an hour
# on 2 cores; see training/README.md). `make model-package` redoes the steps after training.
model: deps model-train model-package

model-train:
	$(PYTHON) training/split.py
	$(PYTHON) training/train.py

model-package: deps
	$(PYTHON) training/export.py
	$(PYTHON) training/quantize.py
	$(PYTHON) training/evaluate.py
	cp build/model/dermal-int8.onnx build/model/ood-pca.bin assets/
	cp build/model/card-draft.json assets/model.json
	$(GO) build -o build/model/dermal-draft .
	for v in int8:card-draft fp32:card-fp32; do for s in val test; do \
		build/model/dermal-draft --model build/model/dermal-$${v%%:*}.onnx --card build/model/$${v##*:}.json \
			eval --labels training/split.csv --split $$s --logits-out build/model/$${v%%:*}_$$s.json $(HAM)/images > /dev/null \
			|| exit 1; done; done
	$(PYTHON) training/card.py
	$(GO) run . eval --labels training/split.csv --split test $(HAM)/images

clean:
	rm -rf bin build
