# The two commands of the README:
#   make demo   installs what is missing, builds, and runs the daemon on the bundled example job
#   make test   installs what is missing and runs the whole test suite
SWIFT ?= swift

.PHONY: deps build demo test clean

deps:
	@scripts/install-deps.sh

build: deps
	$(SWIFT) build

demo: build
	@scripts/demo.sh

test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

clean:
	rm -rf .build .updater .updater-demo
