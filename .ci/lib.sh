# Sourced by the scripts in .ci/: progress lines that a CI log can follow, and the checks every
# script shares. Not a program of its own.

# Seconds since the first .ci script of this run started, so that the nested scripts' lines
# share one clock.
CI_STARTED_AT=${CI_STARTED_AT:-$(date +%s)}
export CI_STARTED_AT

# One progress line on stderr, so that a script's standard output stays free for its answer.
say() {
  printf '[ci +%ss] %s\n' "$(($(date +%s) - CI_STARTED_AT))" "$*" >&2
}

die() {
  say "error: $*"
  exit 1
}

# Runs a command as one named step and says how long it took.
step() {
  local label=$1
  shift
  local begin
  begin=$(date +%s)
  say "$label ..."
  "$@"
  say "$label: done in $(($(date +%s) - begin)) s"
}

require_root() {
  [[ $(id -u) -eq 0 ]] || die "$(basename "$0") must run as root: $1"
}

# The docker client that builds with BuildKit, which services/Dockerfile needs for its secret
# and cache mounts: `docker` with the buildx plugin, or else Debian's own client
# (/usr/bin/docker from docker.io, older than Docker 23), which has BuildKit built in.
# Prints nothing and fails if there is none. tests/containers/dockerEngine.ts picks the same way.
buildkit_client() {
  if command -v docker >/dev/null && docker buildx version >/dev/null 2>&1; then
    command -v docker
  elif [[ -x /usr/bin/docker ]] && /usr/bin/docker --version | grep -Eq 'version (1[0-9]|2[0-2])\.'; then
    echo /usr/bin/docker
  else
    return 1
  fi
}
