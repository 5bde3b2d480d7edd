#!/bin/sh
# Copyright 2026 The ibodp Authors
# SPDX-License-Identifier: Apache-2.0
#
# What NUMA balancing's hinting scans cost ODP: the same perftest matrix
# with balancing off, then on with a scan every 100 ms (the lab boots with
# numa_balancing=disable). Hint faults make PTEs PROT_NONE (an
# MMU_NOTIFY_PROTECTION_VMA invalidation without
# MMU_NOTIFIER_RANGE_WRPROTECT_ONLY), so every kernel drops the MR's pages
# on each scan. Run in the lab guest:
#   ./odplab vm run --variant patched --out results/numa -- \
#     lab/guest/numa-hinting.sh build/perftest/perftest --events none \
#     --ops read --mr_sizes 64M --pages 16 --periods 1
#   ./odplab compare results/numa/numa-off.json results/numa/numa-on.json
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
echo 0 > /proc/sys/kernel/numa_balancing
"$perftest" "$@" --context numa_balancing=off --output "$out/numa-off.json"
echo 100 > "$knobs/scan_period_min_ms"
echo 100 > "$knobs/scan_period_max_ms"
echo 1 > /proc/sys/kernel/numa_balancing
"$perftest" "$@" --context numa_balancing=on --output "$out/numa-on.json"
echo 0 > /proc/sys/kernel/numa_balancing
