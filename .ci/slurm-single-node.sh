#!/usr/bin/env bash
# Start a single-node Slurm cluster (slurmctld + slurmd on this machine, munge for
# authentication, no cgroups) for the CI test of `npvrisk slurm`. Installs Debian's slurm-wlm
# and munge if missing. Idempotent: does nothing if the cluster already answers.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
if sinfo -h >/dev/null 2>&1; then exit 0; fi
if ! command -v slurmctld >/dev/null 2>&1 || ! command -v munged >/dev/null 2>&1; then
    apt-get update -qq
    apt-get install -y -qq slurm-wlm munge >/dev/null
fi
HOST=$(hostname -s)
CPUS=$(nproc)
MEM=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 512 ))
mkdir -p /etc/munge /var/lib/munge /var/log/munge /run/munge /etc/slurm \
         /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
if [ ! -s /etc/munge/munge.key ]; then
    dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null
fi
chown -R munge:munge /etc/munge /var/lib/munge /var/log/munge /run/munge 2>/dev/null || true
chmod 0400 /etc/munge/munge.key
chmod 0700 /etc/munge
pgrep -x munged >/dev/null || runuser -u munge -- /usr/sbin/munged --force
cat > /etc/slurm/slurm.conf <<CONF
ClusterName=ci
SlurmctldHost=${HOST}
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
SlurmUser=root
SlurmdUser=root
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
MpiDefault=none
NodeName=${HOST} CPUs=${CPUS} RealMemory=${MEM} State=UNKNOWN
PartitionName=ci Nodes=${HOST} Default=YES MaxTime=INFINITE State=UP
CONF
echo "ConstrainCores=no" > /etc/slurm/cgroup.conf
pgrep -x slurmctld >/dev/null || /usr/sbin/slurmctld
pgrep -x slurmd >/dev/null || /usr/sbin/slurmd
for _ in $(seq 1 30); do
    if sinfo -h -o %T 2>/dev/null | grep -qE 'idle|mix|alloc'; then exit 0; fi
    scontrol update nodename="${HOST}" state=resume >/dev/null 2>&1 || true
    sleep 1
done
echo "slurm did not come up; logs:" >&2
tail -20 /var/log/slurm/slurmctld.log /var/log/slurm/slurmd.log >&2 || true
exit 1
