#!/bin/sh
# wine_session.sh start|stop: the Wine session of the Windows tests, in $WINEPREFIX (the build
# tree's own prefix). start creates the prefix on first use (wineboot: seconds) and leaves one
# persistent wineserver, so that no program starts while the previous one's server is shutting
# down (which fails it with "recvmsg: Connection reset by peer"); stop ends it. Output goes to
# /dev/null: Wine's service processes outlive their starter and would hold CTest's pipe open.
set -eu
case "${1:-}" in
start)
  mkdir -p "$WINEPREFIX"
  "$WINESERVER" -k >/dev/null 2>&1 || true # one left by an interrupted run of this build
  "$WINESERVER" -p </dev/null >/dev/null 2>&1
  "$WINE" wineboot --init </dev/null >/dev/null 2>&1
  ;;
stop)
  "$WINESERVER" -k </dev/null >/dev/null 2>&1
  ;;
*)
  echo "usage: wine_session.sh start|stop" >&2
  exit 2
  ;;
esac
