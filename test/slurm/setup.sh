#!/usr/bin/env bash
# A real single-node Slurm cluster and an sshd on a loopback port, for the tests of the workflows
# subgraph's Slurm client (docs/slurm.md). Debian packages only, no systemd: every daemon is
# started directly with a pid file. Idempotent: a re-run checks what is up, rewrites a config
# only when its content changed, restarts only what needs it, and takes about a second.
#
#   sudo bash test/slurm/setup.sh          # as root; prints the env file it wrote
#
# State (keys, configs, env file) lives in $OMERO_GRAPH_SLURM_STATE (default
# /var/lib/omero-graph-slurm), outside the git tree. The env file there is what the tests read
# (test/slurm/cluster.ts): SLURM_HOST, SLURM_PORT, SLURM_USER, SLURM_PRIVATE_KEY_FILE,
# SLURM_KNOWN_HOSTS_FILE, SLURM_HOST_KEY, SLURM_LOG_DIR.
#
# Exit codes: 0 ready; 2 cannot run here (not root, no apt-get, …: the reason on stderr);
# anything else: setup failed (the reason and the daemons' log tails on stderr).
set -euo pipefail

STATE="${OMERO_GRAPH_SLURM_STATE:-/var/lib/omero-graph-slurm}"
SSH_PORT="${OMERO_GRAPH_SLURM_SSH_PORT:-2222}"
TEST_USER="${OMERO_GRAPH_SLURM_USER:-omerograph}"
CLUSTER=omerograph
DB=slurm_acct_db
ENV_FILE="$STATE/test.env"
started=0
t0=$(date +%s%N)

say() { echo "slurm-setup: $*" >&2; }
cannot() { say "cannot run here: $*"; exit 2; }
fail() {
  say "FAILED: $*"
  for f in /var/log/slurm/slurmdbd.log /var/log/slurm/slurmctld.log /var/log/slurm/slurmd.log "$STATE/sshd/sshd.log"; do
    [ -f "$f" ] && { echo "--- tail $f" >&2; tail -n 15 "$f" >&2; }
  done
  exit 1
}
# wait_for SECONDS DESCRIPTION COMMAND...: poll every 0.1 s
wait_for() {
  local limit=$(( $1 * 10 )) what=$2 i=0; shift 2
  until "$@" >/dev/null 2>&1; do
    i=$((i + 1)); [ "$i" -ge "$limit" ] && fail "timed out waiting for $what"
    sleep 0.1
  done
}
# alive PIDFILE: its process runs (and is not another program that reused the pid after a reboot)
alive() {
  local pid; pid=$(cat "$1" 2>/dev/null) || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
  case "$(cat "/proc/$pid/comm" 2>/dev/null)" in sshd|slurm*|munged) return 0 ;; *) return 1 ;; esac
}
# install_file SRC DEST MODE: replace DEST only when the content differs; returns 0 when replaced
install_file() {
  if [ -f "$2" ] && cmp -s "$1" "$2"; then rm -f "$1"; return 1; fi
  install -m "$3" "$1" "$2"; rm -f "$1"; return 0
}
stop_pidfile() {
  if alive "$1"; then
    local pid; pid=$(cat "$1"); kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$1"
}

[ "$(id -u)" -eq 0 ] || cannot "must run as root (it installs Debian packages and starts daemons)"
command -v apt-get >/dev/null || cannot "no apt-get (Debian packages slurm-wlm, slurmdbd, munge, openssh-server needed)"

mkdir -p "$STATE"
# Two jest workers may call this at once: one at a time. Daemons are started with fd 9 closed
# (`9>&-`), or they would hold the lock for ever.
exec 9>"$STATE/.lock"
flock -w 120 9 || fail "another setup holds $STATE/.lock"

# ---- packages -------------------------------------------------------------------------------
need=()
for pair in slurmctld:slurm-wlm slurmd:slurm-wlm slurmdbd:slurmdbd munged:munge sshd:openssh-server; do
  [ -x "/usr/sbin/${pair%%:*}" ] || need+=("${pair#*:}")
done
if ! command -v mariadb >/dev/null && ! command -v mysql >/dev/null; then need+=(mariadb-server); fi
if [ ${#need[@]} -gt 0 ]; then
  say "installing $(printf "%s\n" "${need[@]}" | sort -u | tr "\n" " ")"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null || fail "apt-get update"
  apt-get install -y -qq --no-install-recommends $(printf '%s\n' "${need[@]}" | sort -u) >/dev/null || fail "apt-get install ${need[*]}"
fi
MYSQL=$(command -v mariadb || command -v mysql)

# ---- MariaDB (already running on this machine kind; started here otherwise) ------------------
if ! "$MYSQL" -uroot -e 'SELECT 1' >/dev/null 2>&1; then
  say "starting MariaDB"
  mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld 2>/dev/null || true
  [ -d /var/lib/mysql/mysql ] || mariadb-install-db --user=mysql >/dev/null 2>&1 || fail "mariadb-install-db"
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --user=mysql 9>&-
  wait_for 30 "MariaDB" "$MYSQL" -uroot -e 'SELECT 1'
fi
[ -f "$STATE/dbpass" ] || (umask 077; head -c 18 /dev/urandom | base64 | tr -d '/+=' >"$STATE/dbpass")
DBPASS=$(cat "$STATE/dbpass")
"$MYSQL" -uroot <<SQL || fail "creating the accounting database"
CREATE DATABASE IF NOT EXISTS $DB;
CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY '$DBPASS';
ALTER USER 'slurm'@'localhost' IDENTIFIED BY '$DBPASS';
GRANT ALL ON $DB.* TO 'slurm'@'localhost';
SQL

# ---- test user and its key pair ---------------------------------------------------------------
id "$TEST_USER" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$TEST_USER"
# '*' = no password login, but not a locked account (sshd refuses locked ones).
[ "$(getent shadow "$TEST_USER" | cut -d: -f2)" = '*' ] || usermod -p '*' "$TEST_USER"
HOME_DIR=$(getent passwd "$TEST_USER" | cut -d: -f6)
LOG_DIR="$HOME_DIR/data"
# The login node's clock is not in UTC (as on many clusters): the client must ask for UTC itself.
# bash reads ~/.bashrc for commands run over ssh; the line goes first, before Debian's
# "not interactive: return".
if ! head -n 1 "$HOME_DIR/.bashrc" 2>/dev/null | grep -q '^export TZ=Pacific/Auckland'; then
  { echo 'export TZ=Pacific/Auckland  # omero-graph tests: a login node whose local time is not UTC'; cat "$HOME_DIR/.bashrc" 2>/dev/null || true; } >"$HOME_DIR/.bashrc.new"
  install -o "$TEST_USER" -g "$TEST_USER" -m 644 "$HOME_DIR/.bashrc.new" "$HOME_DIR/.bashrc"; rm -f "$HOME_DIR/.bashrc.new"
fi
install -d -o "$TEST_USER" -g "$TEST_USER" -m 755 "$LOG_DIR"
mkdir -p "$STATE/client" "$STATE/sshd/authorized_keys"
chmod 700 "$STATE/client"
[ -f "$STATE/client/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C "$TEST_USER@omero-graph-tests" -f "$STATE/client/id_ed25519"
[ -f "$STATE/sshd/ssh_host_ed25519_key" ] || ssh-keygen -q -t ed25519 -N '' -C omero-graph-test-sshd -f "$STATE/sshd/ssh_host_ed25519_key"
install -m 644 "$STATE/client/id_ed25519.pub" "$STATE/sshd/authorized_keys/$TEST_USER"

# ---- sshd on 127.0.0.1:$SSH_PORT ----------------------------------------------------------------
cat >"$STATE/sshd/sshd_config.new" <<EOF
# written by test/slurm/setup.sh
Port $SSH_PORT
ListenAddress 127.0.0.1
HostKey $STATE/sshd/ssh_host_ed25519_key
PidFile $STATE/sshd/sshd.pid
AuthorizedKeysFile $STATE/sshd/authorized_keys/%u
AuthenticationMethods publickey
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
AllowUsers $TEST_USER
UsePAM no
X11Forwarding no
AllowTcpForwarding no
MaxSessions 20
MaxStartups 50:30:100
LogLevel INFO
EOF
if install_file "$STATE/sshd/sshd_config.new" "$STATE/sshd/sshd_config" 600; then stop_pidfile "$STATE/sshd/sshd.pid"; fi
if ! alive "$STATE/sshd/sshd.pid"; then
  say "starting sshd on 127.0.0.1:$SSH_PORT"
  mkdir -p /run/sshd && chmod 755 /run/sshd
  /usr/sbin/sshd -t -f "$STATE/sshd/sshd_config" || fail "sshd config test"
  /usr/sbin/sshd -f "$STATE/sshd/sshd_config" -E "$STATE/sshd/sshd.log" 9>&-
  started=1
  wait_for 10 "sshd pid file" test -s "$STATE/sshd/sshd.pid"
fi
HOST_KEY=$(cut -d' ' -f1,2 "$STATE/sshd/ssh_host_ed25519_key.pub")
echo "[127.0.0.1]:$SSH_PORT $HOST_KEY" >"$STATE/client/known_hosts"

# ---- munge ------------------------------------------------------------------------------------
if [ ! -s /etc/munge/munge.key ]; then
  (umask 077; dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none)
fi
chown munge:munge /etc/munge/munge.key && chmod 400 /etc/munge/munge.key
install -d -o munge -g munge -m 755 /run/munge
if ! munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; then
  say "starting munged"
  runuser -u munge -- /usr/sbin/munged 9>&-
  started=1
  wait_for 10 "munged" sh -c 'munge -n </dev/null | unmunge'
fi

# ---- Slurm configuration ----------------------------------------------------------------------
NODE=$(hostname -s)
NODE_LINE=$(slurmd -C | head -n 1)   # NodeName=<host> CPUs=… RealMemory=… (this machine's own)
mkdir -p /var/lib/slurm/slurmctld /var/lib/slurm/slurmd /var/log/slurm /run/slurm
cat >/etc/slurm/slurm.conf.new <<EOF
# written by omero-graph test/slurm/setup.sh: one node, no cgroups (runs in a container)
ClusterName=$CLUSTER
SlurmctldHost=$NODE(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=/var/lib/slurm/slurmctld
SlurmdSpoolDir=/var/lib/slurm/slurmd
SlurmctldPidFile=/run/slurm/slurmctld.pid
SlurmdPidFile=/run/slurm/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=1,bf_interval=1
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=127.0.0.1
JobCompType=jobcomp/none
ReturnToService=2
MinJobAge=300
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
KillWait=2
MpiDefault=none
$NODE_LINE NodeAddr=127.0.0.1 State=UNKNOWN
# OverSubscribe: test files running side by side share the 2 CPUs instead of queueing behind each other
PartitionName=debug Nodes=$NODE Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4
EOF
cat >/etc/slurm/slurmdbd.conf.new <<EOF
# written by omero-graph test/slurm/setup.sh
AuthType=auth/munge
DbdHost=localhost
DbdAddr=127.0.0.1
SlurmUser=root
PidFile=/run/slurm/slurmdbd.pid
LogFile=/var/log/slurm/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageUser=slurm
StoragePass=$DBPASS
StorageLoc=$DB
EOF
restart_dbd=0; restart_ctld=0
install_file /etc/slurm/slurmdbd.conf.new /etc/slurm/slurmdbd.conf 600 && restart_dbd=1
install_file /etc/slurm/slurm.conf.new /etc/slurm/slurm.conf 644 && restart_ctld=1
[ "$restart_dbd" = 1 ] && stop_pidfile /run/slurm/slurmdbd.pid
[ "$restart_ctld" = 1 ] && { stop_pidfile /run/slurm/slurmd.pid; stop_pidfile /run/slurm/slurmctld.pid; }

# ---- daemons ----------------------------------------------------------------------------------
if ! alive /run/slurm/slurmdbd.pid; then
  say "starting slurmdbd"
  /usr/sbin/slurmdbd 9>&-
  started=1
  wait_for 30 "slurmdbd" sacctmgr -n show cluster
fi
sacctmgr -n -P show cluster format=cluster | grep -qx "$CLUSTER" || sacctmgr -i add cluster "$CLUSTER" >/dev/null
if ! alive /run/slurm/slurmctld.pid; then
  say "starting slurmctld"
  /usr/sbin/slurmctld 9>&-
  started=1
  wait_for 30 "slurmctld" scontrol ping
fi
if ! alive /run/slurm/slurmd.pid; then
  say "starting slurmd"
  /usr/sbin/slurmd 9>&-
  started=1
fi
node_ready() { sinfo -h -n "$NODE" -o '%t' | grep -Eq '^(idle|mix|alloc)'; }
if ! node_ready; then
  # a node left DOWN/DRAIN by an earlier unclean stop
  scontrol update nodename="$NODE" state=resume >/dev/null 2>&1 || true
  wait_for 30 "node $NODE idle in sinfo" node_ready
fi

# ---- accounting associations --------------------------------------------------------------------
sacctmgr -n -P show account format=account | grep -qx "$CLUSTER" \
  || sacctmgr -i add account "$CLUSTER" cluster="$CLUSTER" description=omero-graph-tests organization=omero-graph >/dev/null
for u in root "$TEST_USER"; do
  sacctmgr -n -P show assoc where cluster="$CLUSTER" user="$u" format=user | grep -qx "$u" \
    || sacctmgr -i add user "$u" account="$CLUSTER" cluster="$CLUSTER" >/dev/null
done

# ---- env file for the tests ---------------------------------------------------------------------
cat >"$ENV_FILE.new" <<EOF
SLURM_HOST=127.0.0.1
SLURM_PORT=$SSH_PORT
SLURM_USER=$TEST_USER
SLURM_PRIVATE_KEY_FILE=$STATE/client/id_ed25519
SLURM_KNOWN_HOSTS_FILE=$STATE/client/known_hosts
SLURM_HOST_KEY=$HOST_KEY
SLURM_LOG_DIR=$LOG_DIR
EOF
install_file "$ENV_FILE.new" "$ENV_FILE" 644 || true

# ---- verify: a real job as the test user, through sshd, seen COMPLETED by sacct ----------------
# Done when anything was (re)started, or on request (--verify); a plain re-run only checks above.
if [ "$started" = 1 ] || [ "${1:-}" = "--verify" ]; then
  ssh_user() {
    ssh -q -p "$SSH_PORT" -i "$STATE/client/id_ed25519" -o BatchMode=yes -o IdentitiesOnly=yes \
      -o UserKnownHostsFile="$STATE/client/known_hosts" -o StrictHostKeyChecking=yes "$TEST_USER@127.0.0.1" "$@"
  }
  out=$(ssh_user sbatch --parsable --job-name=setup-check --output=/dev/null --wrap=true) || fail "sbatch over ssh: $out"
  job=${out%%;*}
  [[ "$job" =~ ^[0-9]+$ ]] || fail "sbatch printed '$out'"
  check_done() { [ "$(ssh_user sacct -n -X -P -j "$job" -o State)" = COMPLETED ]; }
  wait_for 30 "job $job COMPLETED in sacct" check_done
  say "verified: job $job ran as $TEST_USER and sacct shows it COMPLETED"
fi

say "ready in $(( ($(date +%s%N) - t0) / 1000000 )) ms; env file $ENV_FILE"
cat "$ENV_FILE"
