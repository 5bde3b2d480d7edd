#!/bin/sh
# Copyright 2026 The ibodp Authors
# SPDX-License-Identifier: Apache-2.0
#
# Reproducer of a crash in perftest 25.01's -R (rdma_cm) client, in one
# guest of odplab vm run (both ends on rxe0's own link-local address):
#   ./odplab vm run --variant pristine --out results/exp/rcm-race -- \
#       sh lab/repro/perftest-rcm-race.sh
# For ib_send_lat -R and ib_read_lat -R: a control run, then a run whose
# server's second rdma_listen() (the test QP's, after the exchange's) is
# delayed 2 s by delay_listen.c. The client's connect request for the test
# QP is then rejected, its retry (rdma_cm_client_connection()) reads the cm
# ids that rdma_cm_destroy_cma() freed, and it dies of SIGSEGV (exit 139)
# in librdmacm while its server waits (killed by timeout: exit 124).
# Then each tool with the TCP exchange lab/odplab/reflat.py uses
# (--ipv6-addr -x 0), its server started 2 s after the client's first try:
# the client finds no server (exit 1), is tried again, and passes.
# Exit 0: all of that happened (the bug shows, the TCP exchange does not
# have it); 1: otherwise. README, "perftest across two nodes".
set -u
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
cc -shared -fPIC -O2 -Wall -Wextra -Werror -o "$work/delay_listen.so" \
	"$here/delay_listen.c" -ldl || exit 1
dev=$(ip -o link | awk -F': ' '/dummy0|eth0/ {print $2; exit}')
addr=$(ip -6 -o addr show dev "$dev" scope link | awk '{print $4}' |
	cut -d/ -f1)
[ -n "$addr" ] || { echo "no IPv6 link-local address on $dev"; exit 1; }
echo "rxe0 on $dev, $addr"
verdict=0
# Segfaults in librdmacm before this script's runs.
segfaults() { dmesg | grep -c 'segfault at .* in librdmacm'; }
before=$(segfaults)

# Runs the client (the arguments) again while it could not reach its
# server (not up yet: the TCP exchange's "Couldn't connect to", or the -R
# exchange's rejected connect), at most 20 times; any other ending stops
# it. Sets client_rc and no_server (the tries that did not reach it).
client() {
	no_server=0
	while :; do
		timeout 30 "$@" > "$work/client.txt" 2>&1
		client_rc=$?
		[ "$client_rc" = 1 ] && [ "$no_server" -lt 19 ] &&
			grep -q "Couldn't connect to\|Unexpected CM event bl blka" \
				"$work/client.txt" || break
		no_server=$((no_server + 1))
		sleep 0.5
	done
}

# expect WHAT GOT WANT
expect() {
	if [ "$2" != "$3" ]; then
		echo "  unexpected: $1 $2, expected $3"
		verdict=1
	fi
}

port=18700
for tool in ib_send_lat ib_read_lat; do
	for delay in 0 2000000; do
		port=$((port + 1))
		set -- "$tool" -d rxe0 -R --ipv6-addr --odp -F -s 2 -n 100 \
			-p "$port"
		DELAY_US=$delay LD_PRELOAD="$work/delay_listen.so" \
			timeout 40 "$@" > "$work/server.txt" 2>&1 &
		server=$!
		client "$@" "$addr%$dev"
		wait "$server"
		server_rc=$?
		echo "$tool -R, server's second rdma_listen() delayed ${delay} us:" \
			"client exit $client_rc after $no_server tries" \
			"that found no server," \
			"server exit $server_rc"
		grep -v '^ *$' "$work/client.txt" | tail -3 | sed 's/^/  client: /'
		if [ "$delay" = 0 ]; then
			expect "client exit" "$client_rc" 0
			expect "server exit" "$server_rc" 0
		else
			expect "client exit" "$client_rc" 139
			expect "server exit" "$server_rc" 124
		fi
	done
	port=$((port + 1))
	set -- "$tool" -d rxe0 --ipv6-addr -x 0 --odp -F -s 2 -n 100 -p "$port"
	(sleep 2; exec timeout 40 "$@") > "$work/server.txt" 2>&1 &
	server=$!
	client "$@" "$addr%$dev"
	wait "$server"
	server_rc=$?
	echo "$tool TCP exchange, server 2 s late: client exit $client_rc" \
		"after $no_server tries that found no server," \
		"server exit $server_rc"
	grep -A1 '#bytes' "$work/client.txt" | tail -1 | sed 's/^/  client: /'
	expect "client exit" "$client_rc" 0
	expect "server exit" "$server_rc" 0
	[ "$no_server" -ge 1 ] ||
		expect "tries that found no server" "$no_server" "1 or more"
done
# The delayed clients' SIGSEGVs, in librdmacm (the faulting offset is
# printed, not asserted: it is the lab's build's).
dmesg | grep 'segfault at' || echo "no segfault in dmesg"
expect "new segfaults in librdmacm" "$(($(segfaults) - before))" 2
rm -rf "$work"
if [ "$verdict" = 0 ]; then
	echo "perftest-rcm-race: reproduced: each delayed -R client died of" \
		"SIGSEGV; the TCP exchange passed"
else
	echo "perftest-rcm-race: not as described (above)"
fi
exit "$verdict"
