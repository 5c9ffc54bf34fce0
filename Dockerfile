# syntax=docker/dockerfile:1
#
# zebrunner-mcp as a container: one static (musl) binary on distroless/static, run as non-root.
#
#   docker build -t zebrunner-mcp:latest .
#   docker run --rm -i -e ZEBRUNNER_URL -e ZEBRUNNER_LOGIN -e ZEBRUNNER_TOKEN zebrunner-mcp:latest
#
# The build is `cargo build --release --locked -p zebrunner-mcp --features aws,otlp --target
# <arch>-unknown-linux-musl` with the workspace's release profile (Cargo.toml: no debug info,
# symbols stripped, codegen-units 4) and nothing else: no RUSTFLAGS, no CARGO_PROFILE_*
# overrides. The feature `aws` adds the vault backends in AWS Secrets Manager and AWS KMS
# (docs/storage.md), the feature `otlp` trace export over OpenTelemetry (docs/operations.md);
# a plain `cargo build` leaves them out.
# scripts/check-dockerfile checks that, and lints this file with hadolint; `--build` runs the
# same cargo command outside Docker. docs/deployment.md has the details.
#
# Base images are pinned by tag. Pin them by digest too when releasing
# (rust:1.95-bookworm@sha256:..., distroless/static-debian12:nonroot@sha256:...): the digests
# could not be resolved where this file was written.

ARG RUST_IMAGE=rust:1.95-bookworm
ARG RUNTIME_IMAGE=gcr.io/distroless/static-debian12:nonroot

FROM ${RUST_IMAGE} AS build
# Set by BuildKit from --platform: amd64 or arm64.
ARG TARGETARCH
# The version the image is labelled with; the build fails unless the binary says the same.
ARG VERSION=0.1.0
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# musl-gcc builds the C in ring and the bundled SQLite for the musl target.
RUN apt-get update \
    && apt-get install -y --no-install-recommends musl-tools=1.2.3-1 \
    && rm -rf /var/lib/apt/lists/*
RUN case "${TARGETARCH:-amd64}" in \
        amd64) echo x86_64-unknown-linux-musl ;; \
        arm64) echo aarch64-unknown-linux-musl ;; \
        *) echo "unsupported architecture: ${TARGETARCH}" >&2; exit 1 ;; \
    esac > /rust-target \
    && rustup target add "$(cat /rust-target)"
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY crates ./crates
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p zebrunner-mcp --features aws,otlp --target "$(cat /rust-target)" \
    && install -D -m 0755 "target/$(cat /rust-target)/release/zebrunner-mcp" /out/zebrunner-mcp
# The binary is static, runs here, and reports the version the label will carry.
RUN built="$(/out/zebrunner-mcp --version)" \
    && if [ "${built}" != "zebrunner-mcp ${VERSION}" ]; then \
        echo "VERSION=${VERSION} but the binary is '${built}'" >&2; exit 1; \
    fi \
    && /out/zebrunner-mcp tools --json > /dev/null \
    && mkdir -p /out/data

FROM ${RUNTIME_IMAGE}
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="zebrunner-mcp" \
      org.opencontainers.image.description="MCP server for Zebrunner test management and reporting" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="https://github.com/zebrunner-mcp/zebrunner-mcp" \
      org.opencontainers.image.url="https://github.com/zebrunner-mcp/zebrunner-mcp" \
      org.opencontainers.image.documentation="https://github.com/zebrunner-mcp/zebrunner-mcp/blob/main/docs/deployment.md" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.vendor="zebrunner-mcp" \
      org.opencontainers.image.base.name="gcr.io/distroless/static-debian12:nonroot"
COPY --from=build /out/zebrunner-mcp /usr/local/bin/zebrunner-mcp
# The only place the server writes (the SQLite database, unless ZMCP_DATABASE_URL names
# PostgreSQL): the root filesystem can be read-only. Owned by distroless's nonroot (65532).
COPY --from=build --chown=65532:65532 /out/data /data
ENV ZMCP_DATA_DIR=/data
VOLUME ["/data"]
USER 65532:65532
# Streamable HTTP (`serve --transport http --listen 0.0.0.0:8080`); stdio needs no port.
EXPOSE 8080
# GET /healthz on the configured listen address; passes on stdio, which has no port.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["/usr/local/bin/zebrunner-mcp", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/zebrunner-mcp"]
CMD ["serve", "--transport", "stdio"]
