#!/bin/sh
# Runs one template script or hook with the deploy's inputs as environment.
# Pushed into the container as /root/.lxc-deploy/run (0700); on the host it runs host hooks with --env.
#   run [--env FILE] SCRIPT
# FILE (default: "env" beside this runner) is the 0600 env file written by manifest.py; secret inputs are
# files under secrets/ beside it, named by INPUT_<NAME>_FILE. Scripts write KEY=value lines to
# $LXCM_OUTPUT_FILE to hand values (e.g. generated credentials) back to the engine.
# POSIX sh on purpose: it must work before bash (or anything else) is installed in the container.
set -eu
env_file="$(dirname "$0")/env"
if [ "${1:-}" = "--env" ]; then
  env_file=$2
  shift 2
fi
if [ "$#" -lt 1 ]; then
  echo "usage: run [--env FILE] SCRIPT" >&2
  exit 2
fi
LXCM_INPUTS_DIR=$(cd "$(dirname "$env_file")" && pwd)
export LXCM_INPUTS_DIR
LXCM_OUTPUT_FILE=${LXCM_OUTPUT_FILE:-$LXCM_INPUTS_DIR/outputs}
export LXCM_OUTPUT_FILE
# shellcheck source=/dev/null  # the env file is generated per deploy (values quoted with shlex.quote)
. "$env_file"
script=$1
shift
first=$(head -n 1 "$script")
case $first in
  '#!'*)
    if [ -x "$script" ]; then exec "$script" "$@"; fi
    # Not executable (e.g. a host hook saved without the x bit): run its interpreter line as the kernel would.
    interpreter=${first#??}
    # shellcheck disable=SC2086  # the interpreter line is meant to split into words
    exec $interpreter "$script" "$@"
    ;;
esac
exec /bin/sh "$script" "$@"
