# replyguard — `make lab` shows the incident caught, `make test` runs every check.
# Both need root on Debian (network namespaces, netfilter) and install what they lack.

# RG_NODE18: a Node 18 binary (ensure-deps fetches one) that test/integration/node18.test.ts runs the bundle with.
export RG_NODE18 ?= $(CURDIR)/node_modules/.cache/replyguard-node18/package/bin/node
NODE_TEST := node --import tsx --test --test-concurrency=4
# Runs test files; a failed run ends with the failed tests' names and messages (the TAP stream above gives them
# in full), so the last lines of a long log say what failed.
FAILED_TESTS := dist/failed-tests.txt
run-tests = rm -f $(FAILED_TESTS); $(NODE_TEST) --test-reporter=tap --test-reporter-destination=stdout \
  --test-reporter=./test/helpers/failure-summary.mjs --test-reporter-destination=$(FAILED_TESTS) \
  $(1) || { [ ! -f $(FAILED_TESTS) ] || cat $(FAILED_TESTS); exit 1; }
UNIT_TESTS := $(wildcard test/unit/*.test.ts) $(wildcard test/unit/*/*.test.ts)
INTEGRATION_TESTS := $(wildcard test/integration/*.test.ts) $(wildcard test/lab/*.test.ts) \
  $(wildcard test/package/*.test.ts) $(wildcard test/luci/*.test.ts) $(wildcard test/openwrt/*.test.ts)
# OS=openwrt: the lab's side router is OpenWrt 23.05's own userland (needs the rootfs in ../shared/openwrt/
# or RG_OPENWRT_ROOTFS); MODE defaults to iptables-redirect on Debian, openclash-fw4-fakeip on OpenWrt.
OS ?= debian
MODE ?=

.PHONY: all deps build typecheck lint format test test-unit test-integration lab clean ipk apk feed

all: build

deps:
	@test/setup/ensure-deps.sh

build: deps
	npm run build

typecheck: deps
	npx tsc --noEmit

lint: deps
	npx biome check .

format: deps
	npx biome check --write .

test-unit: build
	$(call run-tests,$(UNIT_TESTS))

test-integration: build
	$(call run-tests,$(INTEGRATION_TESTS))

# Type-check, lint, then every test (unit and the namespace lab) in one run so that one summary counts them all.
test: build typecheck lint
	$(call run-tests,$(UNIT_TESTS) $(INTEGRATION_TESTS))

# The incident, reproduced and caught: MODE=iptables-redirect (default), nft-redirect, nft-tproxy, tun,
# openclash-fw4-fakeip, passwall2-tproxy, nikki or none (TPROXY/TUN modes are caught by the passive probe).
lab: build
	node --import tsx test/lab/run-lab.ts --os $(OS) $(if $(MODE),--mode $(MODE))

# OpenWrt packages (opkg, 23.05/24.10) into dist/, without the SDK: replyguard, luci-app-replyguard,
# luci-i18n-replyguard-zh-cn. Reproducible: SOURCE_DATE_EPOCH, else the last commit's time.
ipk: build
	node --import tsx openwrt/tools/build-ipk.ts --out dist

# OpenWrt 25.12 packages (apk-tools v3) into dist/, from the same package specs as `make ipk`; reproducible likewise.
apk: build
	node --import tsx openwrt/tools/build-apk.ts --out dist

# Local feeds in dist/feed/: apk/ (packages.adb) and opkg/ (Packages, usign signature), signed with the keys in
# FEED_KEYS (made on the first run; keep that folder, routers trust its public keys).
FEED_KEYS ?= dist/feed-keys
feed: build
	node --import tsx openwrt/tools/build-feed.ts --out dist/feed --keys $(FEED_KEYS)

clean:
	rm -rf dist
