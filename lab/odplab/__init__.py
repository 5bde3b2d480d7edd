# Copyright 2026 The ibodp Authors
# SPDX-License-Identifier: Apache-2.0
"""odplab: build pristine and patched kernels and run RDMA ODP work in QEMU."""
