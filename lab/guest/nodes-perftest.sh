#!/bin/sh
# Copyright 2026 The ibodp Authors
# SPDX-License-Identifier: Apache-2.0
#
# perftest over the two guests of `odplab vm run --nodes 2`: node 0 is the
# responder (perftest --server: the MR under test, its events and
# counters), node 1 the requester (perftest --client, which runs the
# matrix and writes the report). The client retries its connection while
# the server comes up.
#   usage: nodes-perftest.sh PERFTEST [PERFTEST FLAG...]
set -u
: "${IBODP_NODE:?not in a guest of odplab vm run --nodes 2}"
: "${IBODP_PEER:?}"
bin=$1
shift
if [ "$IBODP_NODE" = 0 ]; then
	exec "$bin" --server --device=rxe0 "$@"
fi
exec "$bin" --client="$IBODP_PEER" --device=rxe0 "$@"
