#!/bin/sh
# Copyright 2026 The ibodp Authors
# SPDX-License-Identifier: Apache-2.0
#
# Runs CMD with khugepaged asleep, and wakes it as it was afterwards.
# perftest's event scenarios measure what one event costs; with THP
# "always" (Debian's config) khugepaged collapses, every 10 s, any range
# that the thp-split scenario left in small pages, with an
# MMU_NOTIFY_CLEAR of its own: now and then one fell between two ops (a
# refault: 16.05 faults per op where the split costs 16) or between the
# reads of two counter sources. What khugepaged costs ODP is a background
# scenario of its own. MADV_COLLAPSE and the debugfs split do not need
# khugepaged.
#   usage: khugepaged-asleep.sh CMD [ARGS...]
set -eu
if [ $# -lt 1 ]; then
	echo "usage: khugepaged-asleep.sh CMD [ARGS...]" >&2
	exit 2
fi
dir=/sys/kernel/mm/transparent_hugepage/khugepaged
knob=$dir/scan_sleep_millisecs
if [ ! -w "$knob" ]; then
	echo "khugepaged-asleep.sh: cannot write $knob: needs" \
	     "CONFIG_TRANSPARENT_HUGEPAGE and root" >&2
	exit 2
fi
old=$(cat "$knob")
trap 'echo "$old" > "$knob"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
# The write wakes khugepaged for one more pass (4096 pages by default)
# before the day's sleep; that pass ends before CMD maps anything, unless
# it waits for a huge page to allocate (alloc_sleep_millisecs), or it
# had no mm to scan and CMD's first eligible mapping wakes it (seen in
# one boot of four on 2026-12-05: one collapse at perftest's start).
# Only khugepaged counts pages_collapsed: if it moved while CMD ran, the
# log says so (a warning, not a failure: such a collapse need not touch
# an MR; the thp-split fault counts say whether one did).
echo 86400000 > "$knob"
sleep 1
collapsed=$(cat "$dir/pages_collapsed")
echo "khugepaged-asleep.sh: scan_sleep_millisecs $old -> $(cat "$knob")," \
     "pages_collapsed $collapsed"
status=0
"$@" || status=$?
now=$(cat "$dir/pages_collapsed")
if [ "$now" != "$collapsed" ]; then
	echo "khugepaged-asleep.sh: warning: khugepaged collapsed" \
	     "$((now - collapsed)) huge pages while CMD ran (pages_collapsed" \
	     "$collapsed -> $now): it was not asleep all along" >&2
fi
exit "$status"
