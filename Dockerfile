# The operator's container image: a static (musl) release binary on a distroless base with no
# shell, running as the non-root user 65532. Build from the repository root:
#
#   docker build -t ghcr.io/locust-rs/locust-operator:0.1.0 .
#
# For another architecture, build on it or with `docker buildx build --platform linux/arm64 ...`.
# (The development machines of this project have no container runtime: this file is not built by
# scripts/test.sh.)

# Alpine's Rust targets musl, so the binary is statically linked without extra toolchains.
FROM rust:1.89-alpine AS builder
RUN apk add --no-cache musl-dev gcc
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --package operator \
    && cp target/release/operator /operator

FROM gcr.io/distroless/static-debian12:nonroot
LABEL org.opencontainers.image.title="locust-operator" \
      org.opencontainers.image.description="Runs distributed Locust load tests from LocustTest resources" \
      org.opencontainers.image.source="https://github.com/locust-rs/locust-operator" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=builder /operator /operator
# Numeric, so Kubernetes' runAsNonRoot can verify it.
USER 65532:65532
ENTRYPOINT ["/operator"]
