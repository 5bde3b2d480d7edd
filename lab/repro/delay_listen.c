// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
//
// LD_PRELOAD shim for perftest-rcm-race.sh: delays the Nth rdma_listen()
// of the process ($LISTEN_CALL, default 2) by $DELAY_US microseconds
// (default 2 s). perftest 25.01's ib_*_lat -R server listens twice: once
// for its parameter exchange, then for the test QP; delaying the second
// lets the client's connect request for the test QP arrive first, as a
// slow server does by chance.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

struct rdma_cm_id;

static long env_or(const char *name, long fallback) {
  const char *v = getenv(name);
  return v ? strtol(v, NULL, 10) : fallback;
}

int rdma_listen(struct rdma_cm_id *id, int backlog) {
  static int calls;
  int (*real)(struct rdma_cm_id *, int) =
      (int (*)(struct rdma_cm_id *, int))dlsym(RTLD_NEXT, "rdma_listen");
  if (!real) {
    fprintf(stderr, "delay_listen: no rdma_listen to wrap: %s\n", dlerror());
    return -1;
  }
  if (++calls == env_or("LISTEN_CALL", 2)) {
    fprintf(stderr, "delay_listen: rdma_listen() call %d delayed\n", calls);
    const long us = env_or("DELAY_US", 2000000);
    const struct timespec delay = {us / 1000000, (us % 1000000) * 1000};
    nanosleep(&delay, NULL);
  }
  return real(id, backlog);
}
