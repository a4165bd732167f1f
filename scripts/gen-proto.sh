#!/usr/bin/env bash
# Regenerates Sources/ClasProto/*.pb.swift from proto/*.proto.
#
# The generated files are committed, so an ordinary `swift build` needs neither
# protoc nor the plugin. Run this only after editing a .proto file, and commit
# the .proto and the regenerated .pb.swift together.
#
# Needs:
#   1. protoc (3.x or newer):            apt-get install -y protobuf-compiler
#   2. protoc-gen-swift from the SAME swift-protobuf version that Package.swift
#      resolves (see `swift package show-dependencies`; 1.39.0 at the time of
#      writing). Generated code must match the SwiftProtobuf runtime version.
#      Build it once (about 10 minutes on 2 cores) outside the repository:
#        git clone https://github.com/apple/swift-protobuf /tmp/swift-protobuf
#        cd /tmp/swift-protobuf && git checkout 1.39.0
#        swift build -c release --product protoc-gen-swift
#      and point PROTOC_GEN_SWIFT at /tmp/swift-protobuf/.build/release/protoc-gen-swift
#      (or put the binary on PATH). Never commit the binary or swift-protobuf's sources.
#
# Usage:  scripts/gen-proto.sh
# Env:    PROTOC            protoc to use (default: protoc on PATH)
#         PROTOC_GEN_SWIFT  plugin to use (default: protoc-gen-swift on PATH, else
#                           /tmp/swift-protobuf/.build/release/protoc-gen-swift)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

protoc="${PROTOC:-protoc}"
plugin="${PROTOC_GEN_SWIFT:-}"
if [[ -z "$plugin" ]]; then
  if command -v protoc-gen-swift >/dev/null 2>&1; then
    plugin="$(command -v protoc-gen-swift)"
  else
    plugin=/tmp/swift-protobuf/.build/release/protoc-gen-swift
  fi
fi

command -v "$protoc" >/dev/null 2>&1 || { echo "gen-proto: protoc not found (apt-get install -y protobuf-compiler)" >&2; exit 1; }
[[ -x "$plugin" ]] || { echo "gen-proto: protoc-gen-swift not found at '$plugin' (see the top of $0)" >&2; exit 1; }

echo "gen-proto: $("$protoc" --version | tr -d '\n'), $("$plugin" --version 2>/dev/null | tr -d '\n' || true)"

out=Sources/ClasProto
mkdir -p "$out"
rm -f "$out"/*.pb.swift
"$protoc" \
  --plugin=protoc-gen-swift="$plugin" \
  -I proto \
  --swift_out="$out" \
  --swift_opt=Visibility=Public \
  --swift_opt=FileNaming=DropPath \
  proto/*.proto

ls -1 "$out"/*.pb.swift
