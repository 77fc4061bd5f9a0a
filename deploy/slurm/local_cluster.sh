#!/usr/bin/env bash
# A one-node SLURM cluster on loopback, for trying `slicerbridge --launch "srun ..."` on one
# machine (and for deploy/tests/test_launchers.py). Needs root and Debian's slurm-wlm and munge.
#
#   deploy/slurm/local_cluster.sh start DIR   configure in DIR (a new, empty folder), start
#                                            munged, slurmctld and slurmd, wait until the node
#                                            is idle
#   deploy/slurm/local_cluster.sh run DIR CMD...   run CMD where srun reaches the cluster
#   deploy/slurm/local_cluster.sh stop DIR    stop the daemons and whatever still runs in the
#                                            namespace, remove the namespace (DIR stays)
#
# Everything listens inside a network namespace of its own, with loopback and a veth pair whose
# both ends are inside it (slurmctld, slurmd and srun bind to every address, and srun opens
# ports for each step's I/O): nothing is reachable from outside. `run` executes CMD in that namespace with SLURM_CONF set.
# The munge key is made here (random, mode 0400) and munged's socket lives in DIR, so the
# machine's own munge and slurm (if any) are neither used nor disturbed. Node "sbnode",
# 127.0.0.1, partition "local", 16 CPUs announced (config_overrides) so that several servers
# run at once on a small machine.
set -euo pipefail

usage() { sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[ $# -ge 2 ] || usage
command=$1
dir=$(realpath -m "$2")
shift 2

namespace_of() { cat "$dir/netns"; }
in_ns() { ip netns exec "$(namespace_of)" "$@"; }

wait_for() { # seconds, description, command...: polls every 0.2 s, each try at most 3 s
  local until=$((SECONDS + $1)) what=$2
  shift 2
  while ((SECONDS < until)); do
    if timeout 3 "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  echo "local_cluster.sh: $what did not happen within the time allowed; logs in $dir" >&2
  return 1
}

start() {
  for program in munged mungekey slurmctld slurmd srun sinfo ip; do
    command -v "$program" >/dev/null || { echo "local_cluster.sh: $program is missing (apt-get install slurm-wlm munge iproute2)" >&2; exit 3; }
  done
  [ "$(id -u)" -eq 0 ] || { echo "local_cluster.sh: needs root (slurmd starts job steps as their user)" >&2; exit 3; }
  mkdir -p "$dir"
  chmod 711 "$dir" # munged wants its socket's folder searchable by all
  [ -z "$(ls -A "$dir")" ] || { echo "local_cluster.sh: $dir is not empty" >&2; exit 2; }
  mkdir -p "$dir/state" "$dir/spool"
  trap stop EXIT # a start that fails leaves nothing running
  local netns="sb-slurm-$$"
  ip netns add "$netns"
  echo "$netns" >"$dir/netns"
  in_ns ip link set lo up
  # Slurm resolves its listening addresses with AI_ADDRCONFIG, which finds nothing where
  # loopback is the only interface: a veth pair with both ends in this namespace gives it one
  # (an address no other namespace can reach).
  in_ns ip link add sb-a type veth peer name sb-b
  in_ns ip addr add 10.213.250.1/30 dev sb-a
  in_ns ip link set sb-a up
  in_ns ip link set sb-b up

  mungekey --create --keyfile="$dir/munge.key" --bits=1024 >/dev/null
  chmod 400 "$dir/munge.key"
  in_ns munged --key-file="$dir/munge.key" --socket="$dir/munge.sock" \
    --pid-file="$dir/munged.pid" --log-file="$dir/munged.log" --seed-file="$dir/munged.seed"
  wait_for 10 "munged's socket" test -S "$dir/munge.sock"

  cat >"$dir/slurm.conf" <<CONF
# Written by deploy/slurm/local_cluster.sh: one node on loopback, for tests and trials.
ClusterName=sblocal
SlurmctldHost=$(hostname -s)(127.0.0.1)
SlurmctldPort=6817
SlurmdPort=6818
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$dir/munge.sock
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
MailProg=/bin/true
ReturnToService=2
SlurmdParameters=config_overrides
InactiveLimit=0
KillWait=5
NodeName=sbnode NodeAddr=127.0.0.1 NodeHostname=sbnode CPUs=16 State=UNKNOWN
PartitionName=local Nodes=sbnode Default=YES MaxTime=INFINITE State=UP
CONF
  # slurmd 22.05 initialises a cgroup plugin whatever the other plugins are; autodetection
  # fails on a machine with the hybrid layout (v1 controllers under a tmpfs), so name it.
  local cgroup=cgroup/v1
  [ -f /sys/fs/cgroup/cgroup.controllers ] && cgroup=cgroup/v2
  printf 'CgroupPlugin=%s\nCgroupMountpoint=/sys/fs/cgroup\nConstrainCores=no\nConstrainRAMSpace=no\n' \
    "$cgroup" >"$dir/cgroup.conf"
  export SLURM_CONF="$dir/slurm.conf"
  in_ns slurmctld -c -i
  in_ns slurmd -N sbnode
  wait_for 30 "the node becoming idle" bash -c "ip netns exec $netns sinfo -h -n sbnode -o %T | grep -qx idle"
  trap - EXIT
}

stop() {
  [ -f "$dir/netns" ] || return 0
  local pidfile pid
  for pidfile in slurmd.pid slurmctld.pid munged.pid; do
    [ -f "$dir/$pidfile" ] || continue
    pid=$(cat "$dir/$pidfile")
    kill "$pid" 2>/dev/null || continue
    for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
  # Job steps still running (slurmstepd and its tasks) live in the namespace too.
  local left
  for ((i = 0; i < 50; i++)); do
    left=$(ip netns pids "$(namespace_of)" 2>/dev/null || true)
    [ -n "$left" ] || break
    # shellcheck disable=SC2086 # one pid a word
    if ((i < 30)); then kill $left 2>/dev/null || true; else kill -9 $left 2>/dev/null || true; fi
    sleep 0.1
  done
  ip netns delete "$(namespace_of)" 2>/dev/null || true
  rm -f "$dir/netns"
}

case "$command" in
  start) start ;;
  stop) stop ;;
  run) SLURM_CONF="$dir/slurm.conf" in_ns "$@" ;;
  *) usage ;;
esac
