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
# Standby (hot pools: the task starts before any job exists, so that a job claiming the instance
#   waits only for the runner's connection to GitHub; docs/runner-image.md#standby-hot-pools):
#   RUNNER_STANDBY_URL and RUNNER_STANDBY_DELETE_URL, presigned S3 GET and DELETE URLs of a config
#   object the function writes when a job claims the instance (an environment file as above, with
#   a RUNNER_JIT_CONFIG line: standby serves JIT registration only); capabilities, so never printed
#   and taken out of the environment as the credentials are. RUNNER_STANDBY_UNTIL (epoch seconds:
#   with no config by then, the task ends), RUNNER_STANDBY_POLL (seconds between GETs; default 0.5).
#   The task starts dockerd and warms the runner, then polls; the object is deleted once read.
# Exit codes: the runner's own after its job; 0 on SIGTERM, an idle timeout or a standby that no
#   job claimed by RUNNER_STANDBY_UNTIL; 1 when it cannot start; 78 when GitHub refuses the
#   runner's version (below), which the reconciler reports as RunnerVersionRefused: the image must
#   be rebuilt with a current runner release.
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
# A standby's presigned URLs are capabilities too: whoever has one reads (or deletes) its job's config.
standby_url=${RUNNER_STANDBY_URL:-}
standby_delete_url=${RUNNER_STANDBY_DELETE_URL:-}
unset RUNNER_JIT_CONFIG RUNNER_REGISTRATION_TOKEN RUNNER_STANDBY_URL RUNNER_STANDBY_DELETE_URL
RUNNER_STANDBY_POLL=${RUNNER_STANDBY_POLL:-0.5}
# run.sh then forwards our SIGTERM to the listener as SIGINT (its graceful stop) and exits with the
# listener's code; without it, run.sh dies alone and leaves the listener running.
export RUNNER_MANUALLY_TRAP_SIG=1

runner_pid=
dockerd_pid=
standby_dir=
request_pid=

log() { printf '%s entrypoint: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }
die() {
  log "error: $*"
  stop_standby
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

# Ends a standby's request in flight and removes what it fetched (the config, once it has come).
stop_standby() {
  if [[ -n $request_pid ]] && kill -0 "$request_pid" 2>/dev/null; then
    kill -TERM "$request_pid" 2>/dev/null || true
    wait "$request_pid" 2>/dev/null || true
  fi
  request_pid=
  if [[ -n $standby_dir ]]; then
    rm -rf "$standby_dir"
  fi
  standby_dir=
}

# One request to a standby's presigned URL ($1; curl's options follow). curl reads the URL from
# its standard input (--config -), not from its command line, which every process can read in
# /proc/PID/cmdline; --globoff, so that no bracket or brace in it is a curl range. In the
# background, so that a trapped SIGTERM ends the wait at once. Sets `http` to the answer's status
# (000: none) and `failure` to what went wrong, if anything, cut before the URL's query (its
# signature); returns curl's exit code.
standby_request() {
  local url=$1 code=0
  shift
  printf 'url = "%s"\n' "$url" |
    (umask 077 && exec curl -fsS --globoff --max-time 5 --config - --write-out '%{http_code}' "$@") \
      >"$standby_dir/http" 2>"$standby_dir/error" &
  request_pid=$!
  wait "$request_pid" || code=$?
  request_pid=
  http=$(<"$standby_dir/http")
  failure=
  read -r failure <"$standby_dir/error" || true
  failure=${failure%%\?*}
  return "$code"
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
  stop_standby
  stop_runner
  stop_dockerd
  exit 0
}

for number in RUNNER_IDLE_TIMEOUT DOCKERD_TIMEOUT; do
  [[ ${!number} =~ ^[0-9]+$ ]] || die "$number must be a number of seconds (got \"${!number}\")"
done
# A fraction: GNU sleep takes one. Not 0, which would be a loop of GETs as fast as S3 answers.
[[ $RUNNER_STANDBY_POLL =~ ^[0-9]*\.?[0-9]+$ && $RUNNER_STANDBY_POLL =~ [1-9] ]] ||
  die "RUNNER_STANDBY_POLL must be a number of seconds above 0, such as 0.5 (got \"$RUNNER_STANDBY_POLL\")"

if [[ -n $standby_url ]]; then
  [[ -z $registration_token ]] ||
    die 'RUNNER_STANDBY_URL with RUNNER_REGISTRATION_TOKEN: a standby serves JIT registration only (its config object holds a RUNNER_JIT_CONFIG)'
  [[ -z $jit_config ]] ||
    die 'RUNNER_STANDBY_URL with RUNNER_JIT_CONFIG: a standby gets its JIT config from its URL, set one or the other'
  [[ -n $standby_delete_url ]] ||
    die 'set RUNNER_STANDBY_DELETE_URL with RUNNER_STANDBY_URL: a standby deletes its config object once read'
  # The URLs go into curl's config as quoted strings, where a quote or a backslash would mean
  # something else; a presigned URL has neither. Not printed: they carry a signature.
  url_pattern='^https?://[^[:space:]"\]+$'
  for url in "$standby_url" "$standby_delete_url"; do
    [[ $url =~ $url_pattern ]] ||
      die 'RUNNER_STANDBY_URL and RUNNER_STANDBY_DELETE_URL must be http(s) URLs without blanks, quotes or backslashes (not printed: they carry a signature)'
  done
  unset url
  [[ ${RUNNER_STANDBY_UNTIL:-} =~ ^[0-9]+$ ]] ||
    die "RUNNER_STANDBY_UNTIL must be a time in epoch seconds (got \"${RUNNER_STANDBY_UNTIL:-}\")"
  standby_until=$(date -u -d "@$RUNNER_STANDBY_UNTIL" +%Y-%m-%dT%H:%M:%SZ)
elif [[ -z $jit_config && -z $registration_token ]]; then
  die 'set RUNNER_REGISTRATION_TOKEN (or RUNNER_JIT_CONFIG): the function hands the task one in its environment file'
fi

# The runner URL of the scope.
if [[ -n ${REPOSITORY:-} ]]; then
  [[ $REPOSITORY == */* ]] || die "REPOSITORY must be owner/name (got \"$REPOSITORY\")"
  runner_url="$GITHUB_SERVER_URL/$REPOSITORY"
elif [[ -n ${ENTERPRISE:-} ]]; then
  runner_url="$GITHUB_SERVER_URL/enterprises/$ENTERPRISE"
elif [[ -n ${ORGANIZATION:-} ]]; then
  runner_url="$GITHUB_SERVER_URL/$ORGANIZATION"
elif [[ -z $jit_config && -z $standby_url ]]; then
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
if [[ -n $standby_url ]]; then
  # What a job would otherwise wait for: the runner's .NET runtime and assemblies read from disk
  # (a pristine instance has none of them in its page cache). --version loads them and exits.
  log 'standby: warming the runner'
  ./bin/Runner.Listener --version >&"$output_fd" 2>&1 ||
    log 'standby: the runner did not print its version; going on (its first start reads its files from disk)'

  standby_dir=$(mktemp -d)
  config_file=$standby_dir/config
  log "standby: waiting for a job's config (until $standby_until)"
  waiting_since=$SECONDS
  last_http=
  while :; do
    if ((EPOCHSECONDS >= RUNNER_STANDBY_UNTIL)); then
      # The presigned URLs stop working about now: the capacity function starts a fresh standby.
      log "no job claimed this standby runner by $standby_until: stopping"
      stop_standby
      stop_dockerd
      exit 0
    fi
    standby_request "$standby_url" --output "$config_file" && [[ $http == 200 ]] && break
    # 403 and 404 mean "not yet": the URL's signer has no s3:ListBucket, so S3 answers 403 for an
    # object that does not exist. Anything else is told once a run, and retried until the deadline.
    if [[ $http != 403 && $http != 404 && $http != "$last_http" ]]; then
      log "standby: the config's GET answered ${failure:-HTTP $http}; retrying until $standby_until"
    fi
    last_http=$http
    sleep "$RUNNER_STANDBY_POLL" &
    wait $! || true
  done
  log "standby: config received after $((SECONDS - waiting_since))s"

  # The object is data: its one line is read, never sourced.
  while IFS= read -r line || [[ -n $line ]]; do
    if [[ $line == RUNNER_JIT_CONFIG=* ]]; then
      jit_config=${line#RUNNER_JIT_CONFIG=}
      jit_config=${jit_config%$'\r'}
      break
    fi
  done <"$config_file"
  unset line
  rm -f "$config_file"
  # Deleted at once, so that the credential lives only in this container's memory. Fatal when it
  # fails: the capacity function takes a config still there for one no standby read, and replaces
  # the runner; a runner started here too would be stopped at its job.
  if ! standby_request "$standby_delete_url" --request DELETE --output /dev/null; then
    stop_standby
    die "standby: could not delete the config object (${failure:-HTTP $http}); not starting a runner the capacity function would take for unread"
  fi
  stop_standby
  unset standby_url standby_delete_url
  [[ -n $jit_config ]] ||
    die 'the config object has no RUNNER_JIT_CONFIG line, or an empty one (a standby serves JIT registration only)'
fi
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
