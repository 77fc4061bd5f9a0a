#!/bin/sh
# Adds a SlicerBridge server to the running HAProxy without a restart (runtime API), with the
# backend's protocol-speaking health check; it takes new connections once the check passes.
#   attach.sh SOCKET NAME HOST:PORT
set -eu
socket=$1 name=$2 address=$3
api() { echo "$*" | socat - "UNIX-CONNECT:$socket"; }
api "add server processors/$name $address check inter 500ms fall 2 rise 2 on-marked-down shutdown-sessions"
api "enable health processors/$name"
api "enable server processors/$name"
