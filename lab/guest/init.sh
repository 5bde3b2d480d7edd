#!/bin/sh
# Copyright 2026 The ibodp Authors
# SPDX-License-Identifier: Apache-2.0
#
# PID 1 of the odplab guest. The root is the host's, read-only over 9p.
# Kernel arguments it reads: ibodp.out=DIR (the writable results share,
# mounted at the same path as on the host) and ibodp.keep=P1,P2 (host paths
# under /tmp that must stay visible above the guest's own tmpfs /tmp).
# Commands find DIR in $IBODP_OUT.
# It writes DIR/status (the command's exit status) and DIR/dmesg.txt, then
# powers the VM off. The host reads the status; no status means the guest
# died before the command ended.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/tmp LANG=C.UTF-8

say() { echo "ibodp-guest: $*" > /dev/console; }

arg() { sed -n "s/.*[[:space:]]$1=\([^[:space:]]*\).*/\1/p" /proc/cmdline; }

power_off() {
	sync
	# tinyconfig has no ACPI: reboot with -no-reboot ends QEMU.
	echo b > /proc/sysrq-trigger
	sleep 10
}

fail_setup() {
	say "setup failed: $*"
	[ -n "$out" ] && [ -d "$out" ] && echo "setup failed: $*" > "$out/setup-error"
	power_off
}

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs -o mode=755 run /run
mkdir -p /run/host-tmp /run/mount
mount --bind /tmp /run/host-tmp
mount -t tmpfs -o mode=1777 tmp /tmp
mkdir -p /dev/shm /dev/pts
mount -t tmpfs -o mode=1777 shm /dev/shm
mount -t devpts devpts /dev/pts 2>/dev/null

out=$(arg ibodp.out)
keep=$(arg ibodp.keep)
variant=$(arg ibodp.variant)

# Host paths under /tmp (project, cwd) stay reachable at the same path.
for p in $(echo "$keep" | tr ',' ' '); do
	case "$p" in
	/tmp/*)
		mkdir -p "$p" && mount --bind "/run/host-tmp/${p#/tmp/}" "$p" ||
			fail_setup "cannot bind $p"
		;;
	esac
done

[ -n "$out" ] || fail_setup "no ibodp.out= on the kernel command line"
mkdir -p "$out" 2>/dev/null
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 ibodp_out "$out" ||
	fail_setup "cannot mount the results share at $out"

export IBODP_OUT="$out"
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
hostname "odplab-$variant" 2>/dev/null

# Soft-RoCE on the dummy netdev: packets to our own MAC loop back in rxe.
# With ibodp.net=virtio (odplab vm run --nodes 2, lab/odplab/nodes.py),
# on the virtio-net link to the other guest instead: IPv6 link-local
# only, no IPv4 address; the command finds its node number and the
# peer's address in IBODP_NODE and IBODP_PEER.
ip link set lo up
netdev=dummy0
if [ "$(arg ibodp.net)" = virtio ]; then
	netdev=
	for d in /sys/class/net/*; do
		drv=$(readlink "$d/device/driver" 2>/dev/null)
		[ "${drv##*/}" = virtio_net ] && netdev=${d##*/} && break
	done
	[ -n "$netdev" ] || fail_setup "ibodp.net=virtio but no virtio-net interface (CONFIG_VIRTIO_NET missing?)"
	# The link holds the two guests only, whose MACs the host made
	# unique: no duplicate address detection, which would keep the
	# address tentative for a second.
	echo 0 > "/proc/sys/net/ipv6/conf/$netdev/accept_dad"
	export IBODP_NODE="$(arg ibodp.node)" IBODP_NETDEV="$netdev"
	export IBODP_PEER="$(arg ibodp.peer)%$netdev"
	hostname "odplab-$variant-node$IBODP_NODE" 2>/dev/null
fi
ip link set "$netdev" up || fail_setup "cannot bring $netdev up (dummy0: CONFIG_DUMMY missing?)"
rdma link add rxe0 type rxe netdev "$netdev" ||
	fail_setup "rdma link add rxe0 on $netdev failed (CONFIG_RDMA_RXE missing?)"
port=/sys/class/infiniband/rxe0/ports/1
i=0
until grep -q ACTIVE "$port/state" 2>/dev/null &&
	! grep -q '^0000:0000:0000:0000:0000:0000:0000:0000$' "$port/gids/0" 2>/dev/null; do
	i=$((i + 1))
	[ $i -gt 300 ] && fail_setup "rxe0 not ACTIVE with a GID after 30 s: $(cat $port/state 2>&1)"
	sleep 0.1
done
say "rxe0 on $netdev $(cat $port/state), gid0 $(cat $port/gids/0)"
if [ -n "$IBODP_PEER" ]; then
	# The address the peer's rdma_cm resolves must be ours for real.
	i=0
	until a=$(ip -6 addr show dev "$netdev" scope link) &&
		echo "$a" | grep -q 'inet6 fe80::' && ! echo "$a" | grep -q tentative; do
		i=$((i + 1))
		[ $i -gt 300 ] && fail_setup "$netdev has no usable link-local address after 30 s: $(ip -6 addr show dev "$netdev")"
		sleep 0.1
	done
	self=$(arg ibodp.self)
	echo "$a" | grep -q "inet6 $self/64 " ||
		fail_setup "$netdev's link-local address is not $self, the one the peer was told: $a"
	say "node $IBODP_NODE: $self on $netdev, peer $IBODP_PEER"
fi

# Benchmarks pin their polling thread to CPU 0 (perftest reads
# IBODP_BENCH_CPU) and unbound work, rxe's rxe_wq among it, runs on the
# other CPUs: rxe's work never waits behind a thread that busy-polls a CQ
# in user space, which PREEMPT_LAZY lets run until the next tick (4 ms).
ncpu=$(nproc)
if [ "$ncpu" -ge 2 ] &&
	printf '%x' $(((1 << ncpu) - 2)) > /sys/devices/virtual/workqueue/cpumask; then
	export IBODP_BENCH_CPU=0
	say "$ncpu CPUs: benchmarks on CPU 0, unbound workqueues on $(cat /sys/devices/virtual/workqueue/cpumask)"
else
	say "$ncpu CPU(s): benchmarks share the CPU with rxe's work; latencies step with the 4 ms tick"
fi

# The virtio-blk disks of vm.py, found by serial.
disk() {
	for d in /sys/block/vd*; do
		[ "$(cat "$d/serial" 2>/dev/null)" = "$1" ] && echo "/dev/${d##*/}" && return
	done
}

# A filesystem with real writeback for MAP_SHARED tests (tmpfs and 9p
# have none): ext4 on its own disk, formatted by the host.
wb=/run/ibodp/ext4
dev=$(disk ibodp-ext4)
if [ -n "$dev" ] && mkdir -p $wb && mount -t ext4 "$dev" $wb; then
	chmod 1777 $wb
	export IBODP_WRITEBACK_DIR=$wb
	say "writeback filesystem: ext4 on $dev at $wb"
else
	say "no writeback filesystem (no disk ibodp-ext4, or it did not mount): msync tests will skip"
fi

# Swap on its own disk (mkswap by the host): a virtio-blk device goes
# through the swap cache on swap-in, as a disk or SSD does (zram would not).
dev=$(disk ibodp-swap)
if [ -n "$dev" ] && swapon "$dev"; then
	export IBODP_SWAP_DEVICE="$dev"
	say "swap on $dev: $(awk '/SwapTotal/ {print $2 " kB"}' /proc/meminfo)"
else
	say "no swap (no disk ibodp-swap, or swapon failed): swap tests will skip"
fi

# cgroup v2 with the memory controller, for tests that make one process
# reclaim (memory.reclaim, memory.max).
mkdir -p /sys/fs/cgroup
if mount -t cgroup2 cgroup2 /sys/fs/cgroup &&
	echo +memory > /sys/fs/cgroup/cgroup.subtree_control; then
	export IBODP_CGROUP_ROOT=/sys/fs/cgroup
else
	say "no cgroup v2 memory controller: cgroup reclaim tests will skip"
fi
say "NUMA nodes online: $(cat /sys/devices/system/node/online 2>/dev/null || echo none)"

say "running $out/command.sh"
echo "ibodp-guest: ===== command start =====" > /dev/console
/bin/sh "$out/command.sh" > /dev/console 2>&1 < /dev/null
rc=$?
echo "ibodp-guest: ===== command end, status $rc =====" > /dev/console
dmesg > "$out/dmesg.txt" 2>&1
echo "$rc" > "$out/status"
power_off
