# Copyright 2026 The ibodp Authors
# SPDX-License-Identifier: Apache-2.0
"""`odplab test` as a pytest suite: one module per stage, in the order
testcmd.MODULES runs them."""
