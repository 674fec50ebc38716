#!/usr/bin/env bash
# Rust for the user: rustup-init (checked against its published .sha256), then the pinned toolchain.
# shellcheck source-path=SCRIPTDIR
# shellcheck source=../files/lib/common.sh
source /opt/forge-shield/lib/common.sh

if fs_user_has_version "$RUST_TOOLCHAIN" rustc --version; then
  fs_log "rust $RUST_TOOLCHAIN already installed"
  exit 0
fi
if ! fs_as_user rustup --version >/dev/null 2>&1; then
  url=https://static.rust-lang.org/rustup/archive/$RUSTUP_VERSION/x86_64-unknown-linux-gnu/rustup-init
  fs_download "$url.sha256" "$FS_CACHE/rustup-init-$RUSTUP_VERSION.sha256"
  fs_download "$url" "$FS_CACHE/rustup-init-$RUSTUP_VERSION"
  fs_verify_published "$FS_CACHE/rustup-init-$RUSTUP_VERSION" \
    "$(cut -d' ' -f1 "$FS_CACHE/rustup-init-$RUSTUP_VERSION.sha256")" "$RUSTUP_SHA256"
  install -m 0755 "$FS_CACHE/rustup-init-$RUSTUP_VERSION" /tmp/rustup-init
  fs_as_user /tmp/rustup-init -y --no-modify-path --profile minimal --default-toolchain none
  rm -f /tmp/rustup-init
fi
fs_as_user rustup toolchain install "$RUST_TOOLCHAIN" --profile minimal --component clippy,rustfmt
fs_as_user rustup default "$RUST_TOOLCHAIN"
fs_log "$(fs_as_user rustc --version)"
