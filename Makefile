# The two commands of the README:
#   make demo   installs what is missing, builds, and runs the daemon on the bundled example job
#   make test   installs what is missing and runs the whole test suite
SWIFT ?= swift
# Release builds (`make release`) link the Swift runtime and Foundation statically: the installed
# binary needs only libc, libstdc++ and libsqlite3 (not the toolchain's libraries), and each command
# starts in half the time (no dynamic linking of the runtime's libraries). They link with lld, which
#  - packs the binary's 132,000 start-up relocations into a 25 KB bitmap (RELR; glibc >= 2.36)
#    instead of a 3.2 MB table read at every start;
#  - exports none of its 45,000 symbols (the driver's static link exports them all; nothing looks
#    them up, but the runtime's dladdr at start-up scanned them all);
#  - places the functions the daemon and the usual commands run side by side
#    (scripts/link-order.txt, written by scripts/link_order.py; every function gets its own section
#    so that it can be moved), so they touch a few MB of the 30 MB of code instead of most of it.
# The idle daemon is 40 MB → 28 MB resident, and a command starts about 1 ms sooner
# (docs/performance.md).
RELEASE = $(SWIFT) build -c release --static-swift-stdlib \
	-Xswiftc -Xfrontend -Xswiftc -function-sections -Xcc -ffunction-sections \
	-Xswiftc -use-ld=lld -Xlinker -z -Xlinker pack-relative-relocs -Xlinker --no-export-dynamic \
	-Xlinker --symbol-ordering-file=$(CURDIR)/scripts/link-order.txt -Xlinker --no-warn-symbol-ordering

.PHONY: deps build release demo test bench install clean freshness late-labels fuzz share

# `make install` (as root): the release binary in $(PREFIX)/bin, its man pages and shell
# completions, the systemd unit, an empty /etc/updater/jobs, the example jobs in
# $(PREFIX)/share/updater/examples, and the `updater` system user the unit runs as. DESTDIR stages it elsewhere (packaging); the user is then skipped.
PREFIX ?= /usr/local
DESTDIR ?=

deps:
	@scripts/install-deps.sh

build: deps
	$(SWIFT) build

# The release binary, .build/release/updater, as benchmarks and `make install` use it.
release: deps
	$(RELEASE) --product updater

demo: build
	@scripts/demo.sh

test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

# Benchmarks print their figures and the ratio against their peer; they need Python with numpy,
# scipy, pandas and scikit-learn (pip install numpy scipy pandas scikit-learn) for data generation
# and the peers. The data goes to .build-bench/ once (about 4 GB with the 10M-row files of the
# drift and training scaling checks); run one benchmark at a time on a small machine.
bench: deps
	$(RELEASE)
	python3 Benchmarks/ingest_bench.py
	python3 Benchmarks/drift_bench.py
	python3 Benchmarks/training_bench.py
	python3 Benchmarks/metrics_bench.py
	python3 Benchmarks/daemon_footprint.py
	python3 Benchmarks/webhook_bench.py

# Man pages (updater(1) and one per command, made from the commands' help by swift-argument-parser's
# generate-manual) and bash, zsh and fish completions, in .build/share.
share: deps
	$(RELEASE) --product updater
	$(RELEASE) --product generate-manual
	rm -rf .build/share && mkdir -p .build/share/man1 .build/share/completions
	.build/release/generate-manual .build/release/updater --multi-page --section 1 --output-directory .build/share/man1
	.build/release/updater --generate-completion-script bash > .build/share/completions/updater
	.build/release/updater --generate-completion-script zsh > .build/share/completions/_updater
	.build/release/updater --generate-completion-script fish > .build/share/completions/updater.fish

install: deps share
	$(RELEASE)
	install -D -m 0755 .build/release/updater $(DESTDIR)$(PREFIX)/bin/updater
	install -d -m 0755 $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 0644 .build/share/man1/*.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -D -m 0644 .build/share/completions/updater $(DESTDIR)$(PREFIX)/share/bash-completion/completions/updater
	install -D -m 0644 .build/share/completions/_updater $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_updater
	install -D -m 0644 .build/share/completions/updater.fish $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/updater.fish
	install -d -m 0755 $(DESTDIR)/etc/systemd/system
	sed 's|/usr/local/bin/updater|$(PREFIX)/bin/updater|' systemd/updater.service > $(DESTDIR)/etc/systemd/system/updater.service
	chmod 0644 $(DESTDIR)/etc/systemd/system/updater.service
	install -D -m 0644 systemd/updater.service.d/trainers.conf $(DESTDIR)$(PREFIX)/share/updater/systemd/trainers.conf
	install -d -m 0755 $(DESTDIR)/etc/updater/jobs
	install -d -m 0755 $(DESTDIR)$(PREFIX)/share/updater/examples
	cp -R Jobs/churn.toml Jobs/churn Jobs/examples $(DESTDIR)$(PREFIX)/share/updater/examples/
	install -D -m 0644 README.md $(DESTDIR)$(PREFIX)/share/doc/updater/README.md
	cp -R docs $(DESTDIR)$(PREFIX)/share/doc/updater/
	@if [ -z "$(DESTDIR)" ] && ! id updater >/dev/null 2>&1; then \
		useradd --system --no-create-home --home-dir /var/lib/updater --shell /usr/sbin/nologin updater; fi
	@if [ -z "$(DESTDIR)" ] && command -v systemctl >/dev/null 2>&1; then systemctl daemon-reload || true; fi
	@echo "installed; next: sudo systemctl enable --now updater (see README: Running under systemd)"

clean:
	rm -rf .build .updater .updater-demo

# The freshness table of docs/cycle.md: River's drifting streams replayed by `updater backtest`
# (needs Python with river: pip install river).
freshness: deps
	$(RELEASE)
	python3 scripts/streams/freshness_table.py --bin .build/release/updater

# The goals of docs/labels.md: estimation on a covariate shift and freshness with labels three
# batches late, replayed by `updater backtest --label-delay` (needs river and numpy).
late-labels: deps
	$(RELEASE)
	python3 scripts/streams/late_labels.py --bin .build/release/updater

# libFuzzer on the readers of outside input, FUZZ_SECONDS (60) per target; new coverage is merged
# into Fuzz/corpus (commit it), crashes land in Fuzz/crashes/ and fail the target.
fuzz: deps
	scripts/fuzz.sh
