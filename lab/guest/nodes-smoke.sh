#!/bin/sh
# Copyright 2026 The ibodp Authors
# SPDX-License-Identifier: Apache-2.0
#
# The two guests of `odplab vm run --nodes 2` talk RDMA over their link:
# rdma_cm resolves the peer's IPv6 link-local address and connects rxe0 to
# rxe0 (rping, from the lab's rdma-core), then ib_read_lat --odp runs with
# its server in node 0 and its client in node 1, exchanging its QP's
# attributes over its TCP connection to the peer's link-local address
# (--ipv6-addr) and addressing the QP by rxe's GID 0, as reflat.py runs the
# reference tools (not -R: perftest 25.01's -R client can crash when it
# beats its server's second rdma_listen; reflat.remote_command). Node 0
# serves, node 1 connects; node 1 retries while node 0's server is not
# up. Writes $IBODP_OUT/smoke.json: what ran and how it ended.
#   usage: nodes-smoke.sh ITERATIONS
set -u
iters=${1:-200}
: "${IBODP_NODE:?not in a guest of odplab vm run --nodes 2}"
: "${IBODP_PEER:?}" "${IBODP_OUT:?}"
peer=$IBODP_PEER

# retry PATTERN CMD...: runs CMD up to 60 times, a second apart, while it
# fails and its output holds PATTERN ("" matches any failure: the server
# may still be booting). ib_read_lat's client is tried again only while it
# cannot connect ("Couldn't connect to": no server yet); any other failure
# is final, as its server's one accept() is spent. Prints every try's
# output; returns the last try's status.
retry() {
	pattern=$1
	shift
	n=0
	while :; do
		"$@" > "$IBODP_OUT/client.txt" 2>&1
		rc=$?
		cat "$IBODP_OUT/client.txt"
		n=$((n + 1))
		[ "$rc" != 0 ] && [ $n -lt 60 ] && { [ -z "$pattern" ] ||
			grep -q "$pattern" "$IBODP_OUT/client.txt"; } || return $rc
		sleep 1
	done
}

if [ "$IBODP_NODE" = 0 ]; then
	rping -s -a :: -C 5 -v
	rping_rc=$?
	ib_read_lat --odp --ipv6-addr -x 0 -d rxe0 -n "$iters" -F
	lat_rc=$?
else
	retry "" rping -c -a "$peer" -C 5 -v
	rping_rc=$?
	# ib_read_lat's server comes up after rping's ended.
	retry "Couldn't connect to" ib_read_lat --odp --ipv6-addr -x 0 -d rxe0 \
		-n "$iters" -F "$peer"
	lat_rc=$?
fi
# The link's addresses as iproute2 reports them (ip -json).
ip -json addr show dev "$IBODP_NETDEV" > "$IBODP_OUT/link-addresses.json"
python3 -c 'import json, sys
node, peer, rping, lat, addrs = sys.argv[1:]
with open(addrs) as f:
    infos = [a for link in json.load(f) for a in link["addr_info"]]
json.dump({"node": int(node), "peer": peer, "rping": int(rping),
           "ib_read_lat": int(lat),
           "inet": sorted(a["local"] for a in infos if a["family"] == "inet"),
           "inet6": sorted(a["local"] + "/" + a["scope"] for a in infos
                           if a["family"] == "inet6")}, sys.stdout)' \
	"$IBODP_NODE" "$peer" "$rping_rc" "$lat_rc" \
	"$IBODP_OUT/link-addresses.json" > "$IBODP_OUT/smoke.json"
[ "$rping_rc" = 0 ] && [ "$lat_rc" = 0 ]
