#!/usr/bin/env bash
# Prints the path of a Pulumi CLI that the engine tier can run: the `pulumi` on PATH when it is
# 3.276.0 or later, otherwise one built from the Go module proxy (pkg/v3 at v3.276.0) and cached
# outside the clone, so only the first run pays the build (about 520 CPU-seconds, 2.3 GB of RAM
# and 4 GB of disk for Go's caches; Go 1.26.6 or later). Progress goes to stderr.
#
#   PULUMI_CLI_CACHE   where the built binary is kept (default ~/.cache/cloud-run-private-calls)
set -euo pipefail

VERSION=3.276.0
cache="${PULUMI_CLI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cloud-run-private-calls}/pulumi-v$VERSION"
say() { printf 'pulumi-cli: %s\n' "$*" >&2; }

# A version as one comparable number: 3.276.0 -> 3276000.
as_number() { IFS=. read -r major minor patch <<<"${1#v}"; echo $((major * 1000000 + minor * 1000 + ${patch%%[-+]*})); }

if installed=$(command -v pulumi 2>/dev/null) && [ -z "${PULUMI_CLI_BUILD:-}" ]; then
  have=$("$installed" version 2>/dev/null || true)
  if [[ "$have" =~ ^v?[0-9]+\.[0-9]+\.[0-9]+ ]] && [ "$(as_number "${BASH_REMATCH[0]}")" -ge "$(as_number "$VERSION")" ]; then
    say "using the installed $installed ($have)"
    echo "$installed"
    exit 0
  fi
  say "the installed $installed is ${have:-of unknown version}; hooks need $VERSION or later: building one"
fi

if [ -x "$cache/pulumi" ]; then
  echo "$cache/pulumi"
  exit 0
fi

command -v go >/dev/null || { say "no Go toolchain on PATH: install Go 1.26.6 or later, or a Pulumi CLI $VERSION or later"; exit 1; }
say "building the Pulumi CLI v$VERSION from the Go module proxy into $cache"
say "(once per machine: about 5 minutes on two idle cores, up to 15 on busy ones)"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# A wrapper module: pkg/v3's own go.mod replaces sdk/v3 with a local path (../sdk), which only
# works inside Pulumi's repository; here sdk/v3 is a plain requirement at the same version.
# Its other replace (the clipboard fork) is copied, as Go applies replaces of the main module only.
cat >"$work/go.mod" <<GOMOD
module pulumicli

go 1.26

require (
	github.com/pulumi/pulumi/pkg/v3 v$VERSION
	github.com/pulumi/pulumi/sdk/v3 v$VERSION
)

replace github.com/atotto/clipboard => github.com/tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e
GOMOD
cat >"$work/tools.go" <<'GOSRC'
//go:build tools

package pulumicli

import _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
GOSRC

cd "$work"
started=$SECONDS
say "downloading modules"
GOFLAGS=-mod=mod go mod tidy -e >&2 2>"$work/tidy.log" || { cat "$work/tidy.log" >&2; exit 1; }
say "modules ready after $((SECONDS - started)) s; compiling"
mkdir -p "$cache"
go build -mod=mod \
  -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$VERSION" \
  -o "$cache/pulumi.partial" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi >&2
mv "$cache/pulumi.partial" "$cache/pulumi"
say "built $cache/pulumi in $((SECONDS - started)) s"
echo "$cache/pulumi"
