# The two commands of the README:
#   make demo   installs what is missing, builds, and runs the daemon on the bundled example job
#   make test   installs what is missing and runs the whole test suite
SWIFT ?= swift

.PHONY: deps build demo test bench clean

deps:
	@scripts/install-deps.sh

build: deps
	$(SWIFT) build

demo: build
	@scripts/demo.sh

test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

# Benchmarks print their figures and the ratio against their peer; they need Python with numpy,
# scipy, pandas and scikit-learn (pip install numpy scipy pandas scikit-learn) for data generation
# and the peers.
bench: deps
	$(SWIFT) build -c release
	python3 Benchmarks/drift_bench.py
	python3 Benchmarks/training_bench.py
	python3 Benchmarks/metrics_bench.py

clean:
	rm -rf .build .updater .updater-demo
