# The operator's container image: a static (musl) release binary on a distroless base with no
# shell, running as the non-root user 65532. Build from the repository root:
#
#   docker build -t locust-operator:dev .
#
# Each architecture is built natively: the Rust build runs on the platform it builds for, never
# under emulation (QEMU makes a release build of this workspace take an hour). The release workflow
# (.github/workflows/release.yml) builds linux/amd64 on an x86-64 runner and linux/arm64 on an
# arm64 runner, pushes each by digest with its SBOM and provenance, and joins them into one
# multi-arch tag. To build linux/arm64 from an x86-64 machine, add an arm64 node to the builder
# (`docker buildx create --name multi --append --platform linux/arm64 ssh://user@arm64-host`)
# rather than installing QEMU.
#
# The Rust of the builder must be at least the workspace's rust-version (Cargo.toml); a test
# (tests/tests/it/release.rs) fails when it is older.

# Alpine's Rust targets musl, so the binary is statically linked without extra toolchains.
FROM rust:1.89-alpine AS builder
RUN apk add --no-cache musl-dev gcc
WORKDIR /src
COPY . .
# crt-static is musl's default; it is spelt out so that a change of base cannot make the binary
# dynamic unnoticed (the final image has no libc to load).
ENV RUSTFLAGS="-C target-feature=+crt-static"
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --package operator \
    && cp target/release/operator /operator

FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=dev
LABEL org.opencontainers.image.title="locust-operator" \
      org.opencontainers.image.description="Runs distributed Locust load tests from LocustTest resources" \
      org.opencontainers.image.source="https://github.com/locust-rs/locust-operator" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}"
COPY --from=builder /operator /operator
# Numeric, so Kubernetes' runAsNonRoot can verify it.
USER 65532:65532
ENTRYPOINT ["/operator"]
