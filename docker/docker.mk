# Container targets, included by the Makefile: image, run, stop (README "Container").
IMAGE ?= sandcell-executor:latest
BASE_IMAGE ?= python:3.13-slim-trixie
SANDCELL_PUBLISH_PORT ?= 50051
RUN_PROJECT ?= sandcell
# The compose v2 plugin where the engine has it, else Debian's docker-compose (v1).
COMPOSE_BIN := $(shell docker compose version >/dev/null 2>&1 && echo "docker compose" || echo docker-compose)
# From docker/: compose v1 reads `seccomp:./seccomp.json` relative to the working directory.
COMPOSE := cd docker && SANDCELL_IMAGE=$(IMAGE) SANDCELL_PUBLISH_PORT=$(SANDCELL_PUBLISH_PORT) $(COMPOSE_BIN) -f compose.yaml -p $(RUN_PROJECT)
# One stamp per base (its Python and glibc decide the wheels); wheelhouse.sh clears the others.
WHEELS_STAMP := docker/.wheels/.complete-$(subst :,-,$(BASE_IMAGE))

.PHONY: base-image wheels image run stop test-runsc

# The base image: pulled where a registry answers, else debootstrap + docker import (cached in docker/.base).
base-image:
	@BASE_TAG=$(BASE_IMAGE) docker/build-base.sh

# Wheels for the image's build stage, fetched by the host's pip (see docker/wheelhouse.sh for why).
$(WHEELS_STAMP): pyproject.toml docker/wheelhouse.sh docker/docker.mk | $(STAMP)
	PYTHON=$(PY) BASE=$(BASE_IMAGE) docker/wheelhouse.sh
	@touch $@

wheels: $(WHEELS_STAMP)

# Cached layers make this a fraction of a second when executor/ and sandcell/ are unchanged.
image: base-image wheels
	docker build -q -f docker/Dockerfile --build-arg BASE=$(BASE_IMAGE) -t $(IMAGE) . >/dev/null
	@docker image inspect -f 'image: $(IMAGE), {{.Size}} bytes' $(IMAGE)

# Build, start, wait until healthy, run the demo client through the published port
# (the demo ends by printing how to connect from Python and grpcurl).
run: image setup
	$(COMPOSE) up -d
	$(PY) -m sandcell.container wait $(RUN_PROJECT)
	$(PY) -m sandcell.demo --address 127.0.0.1:$(SANDCELL_PUBLISH_PORT)
	@echo
	@echo "The executor is running in Docker (project $(RUN_PROJECT)), listening on 127.0.0.1:$(SANDCELL_PUBLISH_PORT)."
	@echo "  health:  $(PY) -m executor.healthcheck --address 127.0.0.1:$(SANDCELL_PUBLISH_PORT)"
	@echo "  logs:    cd docker && $(COMPOSE_BIN) -p $(RUN_PROJECT) logs -f executor"
	@echo "  stop:    make stop"

stop:
	$(COMPOSE) down --remove-orphans

# The container tests (tests/docker, and the API suite's docker target) use the image.
test: image
bench: image

# The container suite once more with the executor under gVisor (README "gVisor"); the runtime
# is registered by docker/register-runsc.sh (.ci/run runs it).
RUNSC_SUITE := tests/docker/test_container.py tests/test_api.py tests/test_limits.py tests/test_isolation.py
test-runsc: image setup
	@docker info --format '{{json .Runtimes}}' | grep -q '"runsc"' || \
	  { echo "runsc is not a Docker runtime here: run docker/register-runsc.sh (as root; .ci/run does)"; exit 1; }
	SANDCELL_DOCKER_RUNTIME=runsc SANDCELL_TEST_TARGETS=docker $(PY) -m pytest -q -p no:cacheprovider $(RUNSC_SUITE)
