# Shared by the build scripts: the cache location and small helpers.
# shellcheck shell=bash
# shellcheck source=versions.sh
. "$(dirname "${BASH_SOURCE[0]}")/versions.sh"

LPTRIG_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LPTRIG_CACHE=${LPTRIG_CACHE:-$HOME/.cache/lptrig}
export LPTRIG_CACHE
mkdir -p "$LPTRIG_CACHE"

log() {
	printf '%s: %s\n' "${0##*/}" "$*" >&2
}

die() {
	log "error: $*"
	exit 1
}

# install_if_changed SRC DST: copy SRC to DST only when the contents differ,
# so that make and ninja see an unchanged mtime for an unchanged input.
install_if_changed() {
	if ! cmp -s "$1" "$2"; then
		mkdir -p "$(dirname "$2")"
		cp "$1" "$2.tmp.$$"
		mv "$2.tmp.$$" "$2"
	fi
}
