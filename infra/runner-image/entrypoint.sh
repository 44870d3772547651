#!/usr/bin/env bash
# One ephemeral GitHub Actions runner: start dockerd, register, take one job, clean up.
#
# Scope (most specific first, because the task definition always carries the seed's default
# ORGANIZATION and the webhook adds REPOSITORY or ENTERPRISE as an override):
#   REPOSITORY=owner/name | ENTERPRISE=slug | ORGANIZATION=login
# Registration: RUNNER_JIT_CONFIG (a just-in-time config), or RUNNER_REGISTRATION_TOKEN (a
#   registration token the function minted, for config.sh; never printed). Either comes from the
#   task's S3 environment file, and is taken out of the environment before anything starts, so
#   neither dockerd nor a job inherits it (ECS's init, PID 1, keeps it in /proc/1/environ, which a
#   job as root can read: docs/security.md says what that allows). No long-lived GitHub credential
#   reaches the container.
# Other settings: RUNNER_CONFIG_ARGS (one string of config.sh flags), RUNNER_LABELS,
#   RUNNER_IDLE_TIMEOUT (seconds without a job before the runner gives up; default 900),
#   GITHUB_SERVER_URL (GitHub Enterprise Server), DOCKERD_TIMEOUT (default 60),
#   DOCKERD_LOG (default /var/log/dockerd.log), DOCKERD_ARGS (one string of extra dockerd flags,
#   e.g. "--bridge=none --iptables=false" when the container shares the host's network namespace),
#   RUNNER_HOME (where config.sh and run.sh are; default /actions-runner).
# Exit codes: the runner's own after its job; 0 on SIGTERM or an idle timeout; 1 when it cannot
#   start; 78 when GitHub refuses the runner's version (below), which the reconciler reports as
#   RunnerVersionRefused: the image must be rebuilt with a current runner release.
set -Eeuo pipefail

RUNNER_HOME=${RUNNER_HOME:-/actions-runner}
GITHUB_SERVER_URL=${GITHUB_SERVER_URL:-https://github.com}
RUNNER_IDLE_TIMEOUT=${RUNNER_IDLE_TIMEOUT:-900}
DOCKERD_TIMEOUT=${DOCKERD_TIMEOUT:-60}
DOCKERD_LOG=${DOCKERD_LOG:-/var/log/dockerd.log}
# What config.sh and run.sh print goes to the task's log through a tee that also keeps it, to
# look for a refused version in; the tee ignores the signals meant for the runner, so that the
# runner's last words still reach both.
runner_output=$(mktemp)
exec {output_fd}> >(trap '' INT TERM; exec tee -a "$runner_output")
output_pid=$!

# GitHub refuses a runner release it no longer allows, in the runner's own words:
# - the listener, then exiting 0 as if nothing happened (actions/runner#3266, #4305):
#   "An error occured: Runner version v2.330.0 is deprecated and cannot receive messages."
# - config.sh, since the minimum version for registering (2.329.0, 2026; man-group/ArcticDB#3404):
#   "Your runner version is out of date and can no longer register with GitHub."
readonly VERSION_REFUSED_EXIT=78
readonly VERSION_REFUSED='Runner version v?[0-9.]+ is deprecated and cannot receive messages|runner version is out of date and can no longer register'

# Read once and taken out of the environment, which every process started from here on would inherit.
jit_config=${RUNNER_JIT_CONFIG:-}
registration_token=${RUNNER_REGISTRATION_TOKEN:-}
unset RUNNER_JIT_CONFIG RUNNER_REGISTRATION_TOKEN
# run.sh then forwards our SIGTERM to the listener as SIGINT (its graceful stop) and exits with the
# listener's code; without it, run.sh dies alone and leaves the listener running.
export RUNNER_MANUALLY_TRAP_SIG=1

runner_pid=
dockerd_pid=

log() { printf '%s entrypoint: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }
die() {
  log "error: $*"
  stop_runner
  stop_dockerd
  exit 1
}

stop_runner() {
  if [[ -n $runner_pid ]] && kill -0 "$runner_pid" 2>/dev/null; then
    log 'stopping the runner'
    kill -TERM "$runner_pid" 2>/dev/null || true
    wait "$runner_pid" 2>/dev/null || true
  fi
  runner_pid=
}

stop_dockerd() {
  if [[ -n $dockerd_pid ]] && kill -0 "$dockerd_pid" 2>/dev/null; then
    log 'stopping dockerd'
    kill -TERM "$dockerd_pid" 2>/dev/null || true
    wait "$dockerd_pid" 2>/dev/null || true
  fi
  dockerd_pid=
}

# Starts run.sh in the background with job control on: without it, bash starts a background
# command with SIGINT ignored, the listener inherits that, and SIGINT is its graceful stop.
start_runner() {
  set -m
  ./run.sh >&"$output_fd" 2>&1 &
  runner_pid=$!
  set +m
}

# Exits with VERSION_REFUSED_EXIT when the runner said GitHub refuses its version: once the tee
# has written all it was given (a second at most: a process the runner left may hold the pipe).
exit_if_version_refused() {
  local said
  exec {output_fd}>&-
  for _ in {1..10}; do
    kill -0 "$output_pid" 2>/dev/null || break
    sleep 0.1
  done
  if said=$(grep -Eo -m1 "$VERSION_REFUSED" "$runner_output" 2>/dev/null); then
    log "GitHub refuses this runner release (\"$said\"): rebuild the image with a current one (docs/runner-image.md); exiting $VERSION_REFUSED_EXIT"
    stop_dockerd
    exit "$VERSION_REFUSED_EXIT"
  fi
}

# shellcheck disable=SC2317 # called from the traps below
on_signal() {
  log "$1: cleaning up"
  stop_runner
  stop_dockerd
  exit 0
}

for number in RUNNER_IDLE_TIMEOUT DOCKERD_TIMEOUT; do
  [[ ${!number} =~ ^[0-9]+$ ]] || die "$number must be a number of seconds (got \"${!number}\")"
done

[[ -n $jit_config || -n $registration_token ]] ||
  die 'set RUNNER_REGISTRATION_TOKEN (or RUNNER_JIT_CONFIG): the function hands the task one in its environment file'

# The runner URL of the scope.
if [[ -n ${REPOSITORY:-} ]]; then
  [[ $REPOSITORY == */* ]] || die "REPOSITORY must be owner/name (got \"$REPOSITORY\")"
  runner_url="$GITHUB_SERVER_URL/$REPOSITORY"
elif [[ -n ${ENTERPRISE:-} ]]; then
  runner_url="$GITHUB_SERVER_URL/enterprises/$ENTERPRISE"
elif [[ -n ${ORGANIZATION:-} ]]; then
  runner_url="$GITHUB_SERVER_URL/$ORGANIZATION"
elif [[ -z $jit_config ]]; then
  die 'set REPOSITORY, ENTERPRISE or ORGANIZATION (or RUNNER_JIT_CONFIG)'
fi

trap 'on_signal SIGTERM' TERM
trap 'on_signal SIGINT' INT

# Docker-in-docker: this task's own daemon, on the task's scratch volume (/var/lib/docker).
log 'starting dockerd'
read -r -a dockerd_args <<<"${DOCKERD_ARGS:-}"
# Without the tee's pipe: the tee ends when the runner does, not when dockerd does.
dockerd "${dockerd_args[@]}" >"$DOCKERD_LOG" 2>&1 {output_fd}>&- &
dockerd_pid=$!
tries=0
until docker info >/dev/null 2>&1; do
  kill -0 "$dockerd_pid" 2>/dev/null || die "dockerd exited; see $DOCKERD_LOG"
  ((tries >= DOCKERD_TIMEOUT * 4)) && die "dockerd not ready after ${DOCKERD_TIMEOUT}s"
  sleep 0.25
  tries=$((tries + 1))
done
log 'dockerd is ready'

cd "$RUNNER_HOME"
if [[ -n $jit_config ]]; then
  log 'starting the runner from its just-in-time configuration'
  # The runner reads its inputs from ACTIONS_RUNNER_INPUT_* and deletes them from its own
  # environment: unlike `--jitconfig`, the config is on no command line (/proc/PID/cmdline is
  # readable by every process) and the job's processes do not inherit it.
  ACTIONS_RUNNER_INPUT_JITCONFIG=$jit_config start_runner
  unset jit_config
else
  # RUNNER_CONFIG_ARGS is one string of flags (the seed's contract); its values are checked by
  # the webhook to [A-Za-z0-9._-], so splitting on blanks is exact.
  read -r -a config_args <<<"${RUNNER_CONFIG_ARGS:-}"
  if [[ -n ${RUNNER_LABELS:-} && " ${config_args[*]} " != *" --labels "* ]]; then
    config_args+=(--labels "$RUNNER_LABELS")
  fi
  # Without --unattended, config.sh would wait for answers on a terminal the task does not have.
  [[ " ${config_args[*]} " == *" --unattended "* ]] || config_args=(--unattended "${config_args[@]}")
  log "registering at $runner_url"
  if ! ./config.sh --url "$runner_url" --token "$registration_token" "${config_args[@]}" >&"$output_fd" 2>&1; then
    exit_if_version_refused
    die "config.sh could not register at $runner_url (a registration token lasts an hour)"
  fi
  unset registration_token
  # No remove token (the task holds no credential that could fetch one): a runner that stops before
  # its job stays registered offline until the reconciler deletes it or GitHub drops it (ephemeral
  # runners offline for a day), as a JIT runner does.
  start_runner
fi

# The runner writes _diag/Worker_*.log when it takes a job: until then, count idle seconds.
idle=0
while kill -0 "$runner_pid" 2>/dev/null; do
  if ((idle >= 0)); then
    if compgen -G "$RUNNER_HOME/_diag/Worker_*.log" >/dev/null; then
      log 'the runner took a job'
      idle=-1
    elif ((idle >= RUNNER_IDLE_TIMEOUT)); then
      log "no job within ${RUNNER_IDLE_TIMEOUT}s: stopping"
      stop_runner
      stop_dockerd
      exit 0
    else
      idle=$((idle + 1))
    fi
  fi
  # `sleep & wait` rather than `sleep`: a trapped signal interrupts `wait` at once.
  sleep 1 &
  wait $! || true
done

status=0
wait "$runner_pid" || status=$?
runner_pid=
log "the runner exited ($status)"
exit_if_version_refused
stop_dockerd
exit "$status"
