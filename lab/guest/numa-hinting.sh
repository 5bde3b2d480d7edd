#!/bin/sh
# Copyright 2026 The ibodp Authors
# SPDX-License-Identifier: Apache-2.0
#
# What NUMA balancing's hinting scans cost ODP: the same perftest matrix
# in one boot with balancing off, on with the kernel's default scan
# periods, and on with a scan every 100 ms (the lab boots with
# numa_balancing=disable). A hinting scan makes PTEs PROT_NONE, an
# MMU_NOTIFY_PROTECTION_VMA invalidation without
# MMU_NOTIFIER_RANGE_WRPROTECT_ONLY, so every kernel drops the MR's valid
# pages on each scan that covers them. Run in the lab guest:
#   ./odplab vm run --variant patched --out results/numa -- \
#     lab/guest/numa-hinting.sh build/perftest/perftest --events none \
#     --ops read --mr_sizes 1M,64M --pages 16 --periods 1
#   ./odplab compare results/numa/numa-off.json results/numa/numa-on-100ms.json
set -eu
if [ $# -lt 1 ]; then
	echo "usage: numa-hinting.sh PERFTEST [PERFTEST ARGS...]" >&2
	exit 2
fi
perftest=$1
shift
out=${IBODP_OUT:?numa-hinting.sh runs in the odplab guest (IBODP_OUT unset)}
knobs=/sys/kernel/debug/sched/numa_balancing
if [ ! -d "$knobs" ] || [ ! -w /proc/sys/kernel/numa_balancing ]; then
	echo "numa-hinting.sh: no $knobs or numa_balancing sysctl: needs" \
	     "CONFIG_NUMA_BALANCING, debugfs and root" >&2
	exit 2
fi
numa_vmstat() {
	grep -E '^numa_(pte_updates|hint_faults|pages_migrated) ' /proc/vmstat |
		tr '\n' ' '
}
run() { # $name: the report; arguments: perftest flags
	before=$(numa_vmstat)
	"$perftest" "$@" --output "$out/$name.json"
	echo "numa-hinting: $name: vmstat before: $before; after: $(numa_vmstat)"
}
echo 0 > /proc/sys/kernel/numa_balancing
name=numa-off run "$@" --context numa_balancing=off
echo "numa-hinting: default scan periods: min $(cat $knobs/scan_period_min_ms) ms," \
     "max $(cat $knobs/scan_period_max_ms) ms, delay $(cat $knobs/scan_delay_ms) ms," \
     "size $(cat $knobs/scan_size_mb) MB"
echo 1 > /proc/sys/kernel/numa_balancing
name=numa-on run "$@" --context numa_balancing=on-default
echo 0 > /proc/sys/kernel/numa_balancing
echo 100 > "$knobs/scan_period_min_ms"
echo 100 > "$knobs/scan_period_max_ms"
echo 1 > /proc/sys/kernel/numa_balancing
name=numa-on-100ms run "$@" --context numa_balancing=on-100ms
echo 0 > /proc/sys/kernel/numa_balancing
