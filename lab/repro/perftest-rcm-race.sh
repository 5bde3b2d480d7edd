#!/bin/sh
# Copyright 2026 The ibodp Authors
# SPDX-License-Identifier: Apache-2.0
#
# Reproducer of a crash in perftest 25.01's -R (rdma_cm) client, in one
# guest of odplab vm run (both ends on rxe0's own link-local address):
#   ./odplab vm run --variant pristine --out results/exp/rcm-race -- \
#       sh lab/repro/perftest-rcm-race.sh
# For ib_send_lat and ib_read_lat: a control run, then a run whose server's
# second rdma_listen() (the test QP's) is delayed 2 s by delay_listen.so.
# The client's connect request is then rejected, its retry
# (rdma_cm_client_connection) reads the cm ids rdma_cm_destroy_cma() has
# freed, and it dies of SIGSEGV (exit 139) in rdma_resolve_addr().
# Exit 0: every control run passed and every delayed run's client died of
# SIGSEGV (the bug shows); 1: otherwise. Why reflat.py does not use -R:
# README, "perftest across two nodes".
set -u
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
cc -shared -fPIC -O2 -Wall -Werror -o "$work/delay_listen.so" \
	"$here/delay_listen.c" -ldl || exit 1
dev=$(ip -o link | awk -F': ' '/dummy0|eth0/ {print $2; exit}')
addr=$(ip -6 -o addr show dev "$dev" scope link | awk '{print $4}' |
	cut -d/ -f1)
[ -n "$addr" ] || { echo "no IPv6 link-local address on $dev"; exit 1; }
echo "rxe0 on $dev, $addr"
verdict=0
port=18700
for tool in ib_send_lat ib_read_lat; do
	for delay in 0 2000000; do
		port=$((port + 1))
		set -- "$tool" -d rxe0 -R --ipv6-addr --odp -F -s 2 -n 100 \
			-p "$port"
		DELAY_US=$delay LD_PRELOAD="$work/delay_listen.so" \
			timeout 40 "$@" > "$work/server.txt" 2>&1 &
		server=$!
		sleep 1
		timeout 30 "$@" "$addr%$dev" > "$work/client.txt" 2>&1
		client_rc=$?
		wait "$server"
		server_rc=$?
		echo "$tool -R, server's second rdma_listen delayed" \
			"${delay} us: client exit $client_rc, server exit $server_rc"
		sed 's/^/  client: /' "$work/client.txt" | grep -v ': *$' |
			tail -4
		if [ "$delay" = 0 ]; then
			[ "$client_rc" = 0 ] && [ "$server_rc" = 0 ] || verdict=1
		else
			[ "$client_rc" = 139 ] || verdict=1
		fi
	done
done
dmesg | grep 'segfault at' || echo "no segfault in dmesg"
rm -rf "$work"
if [ "$verdict" = 0 ]; then
	echo "perftest-rcm-race: reproduced: each delayed -R client died of SIGSEGV"
else
	echo "perftest-rcm-race: not reproduced as described"
fi
exit "$verdict"
