#!/bin/sh
# Takes a SlicerBridge server out of the running HAProxy by draining it:
#  1. HAProxy sends it no new connection (state drain);
#  2. the server gets SIGTERM (PID given): it stops accepting, answers requests that arrive now
#     with shutting_down (clients' pools send them elsewhere), lets running calls finish (up to
#     its --shutdown-grace), answers goodbye and exits;
#  3. once it has no session left, it is removed from HAProxy.
#   drain.sh SOCKET NAME SERVER_PID [TIMEOUT_SECONDS]
set -eu
socket=$1 name=$2 pid=$3 timeout=${4:-60}
api() { echo "$*" | socat - "UNIX-CONNECT:$socket"; }
api "set server processors/$name state drain"
kill -TERM "$pid"
i=0
while kill -0 "$pid" 2>/dev/null && [ "$i" -lt $((timeout * 10)) ]; do sleep 0.1; i=$((i + 1)); done
api "set server processors/$name state maint"
api "shutdown sessions server processors/$name"
api "del server processors/$name"
