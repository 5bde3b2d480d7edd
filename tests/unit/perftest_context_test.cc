// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
//
// perftest's report context: what the environment adds to it.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "context.h"

namespace perftest {
namespace {

TEST(ContextFromEnvironmentTest, TakesOnlyPrefixedKeysInLowerCase) {
  const char* const envp[] = {"PATH=/usr/bin",
                              "IBODP_CONTEXT_ACCELERATOR=tcg",
                              "IBODP_CONTEXT_QEMU_CPU=host,-arch-capabilities",
                              "IBODP_CONTEXTLESS=1",
                              "IBODP_CONTEXT_=no key",
                              "IBODP_CONTEXT_EMPTY=",
                              "IBODP_CONTEXT_NOEQUALS",
                              nullptr};
  const std::map<std::string, std::string> want = {
      {"accelerator", "tcg"},
      {"qemu_cpu", "host,-arch-capabilities"},
      {"empty", ""}};
  EXPECT_EQ(ContextFromEnvironment(envp), want);
}

TEST(ContextFromEnvironmentTest, NullEnvironmentIsEmpty) {
  EXPECT_TRUE(ContextFromEnvironment(nullptr).empty());
}

// The lab checks that a guest loaded its rdma-core build from this entry.
TEST(BuildContextTest, NamesTheLibibverbsFileThisProcessLoaded) {
  char arg0[] = "perftest";
  char* argv[] = {arg0, nullptr};
  const Context ctx = BuildContext("rxe0", 1, argv);
  const std::string lib = ctx.extra.at("libibverbs");
  EXPECT_EQ(lib.front(), '/') << lib;
  EXPECT_NE(lib.find("/libibverbs.so."), std::string::npos) << lib;
}

}  // namespace
}  // namespace perftest
