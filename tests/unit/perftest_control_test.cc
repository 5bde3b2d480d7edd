// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
//
// The control connection of perftest --server and --client over loopback
// TCP: replies come back, a reply's error comes back as the exception of
// its kind, and a peer that is not there or says nothing is an error that
// names it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "control.h"
#include "ibodp/error.h"

namespace perftest {
namespace {

using std::chrono::milliseconds;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

// A port of its own for each test (tests run one at a time).
constexpr uint16_t kPort = 18590;

TEST(ControlChannelTest, RepliesAndErrorsOfTheirKindReachTheCaller) {
  std::thread server([] {
    ControlChannel c = ControlChannel::Accept(kPort, milliseconds(10000));
    const nlohmann::json hello = c.Receive(milliseconds(10000));
    EXPECT_EQ(hello.at("cmd"), "hello");
    c.Send(Reply(hello, {{"x", 1}}));
    const nlohmann::json setup = c.Receive(milliseconds(10000));
    c.Send(ErrorReply(setup, "no ODP for SEND", true));
    const nlohmann::json again = c.Receive(milliseconds(10000));
    c.Send(ErrorReply(again, "MR too large", false));
    // The client closes between two messages: the end, not an error.
    EXPECT_TRUE(c.ReceiveOrEnd(milliseconds(10000)).is_null());
  });
  {
    ControlChannel c =
        ControlChannel::Connect("localhost", kPort, milliseconds(10000));
    EXPECT_EQ(c.Call({{"cmd", "hello"}}, milliseconds(10000)),
              (nlohmann::json{{"x", 1}, {"seq", 1}}));
    EXPECT_THAT(
        [&] {
          c.Call({{"cmd", "setup"}}, milliseconds(10000));
        },
        ThrowsMessage<ibodp::Unsupported>(HasSubstr("setup: no ODP for SEND")));
    try {
      c.Call({{"cmd", "setup"}}, milliseconds(10000));
      ADD_FAILURE() << "no exception";
    } catch (const ibodp::Unsupported&) {
      ADD_FAILURE() << "an error became a skip";
    } catch (const ibodp::Error& e) {
      EXPECT_THAT(e.what(), HasSubstr("setup: MR too large"));
    }
  }
  server.join();
}

TEST(ControlChannelTest, ALateReplyLeavesTheConnectionOutOfStep) {
  std::thread server([] {
    ControlChannel c = ControlChannel::Accept(kPort + 1, milliseconds(10000));
    const nlohmann::json event = c.Receive(milliseconds(10000));
    // The reply comes after the client has given up on it.
    std::this_thread::sleep_for(milliseconds(400));
    c.Send(Reply(event, {{"event_ns", 1}}));
    try {
      c.ReceiveOrEnd(milliseconds(10000));
    } catch (const ibodp::Error&) {
      // A reset: the client closed with the late reply unread.
    }
  });
  {
    ControlChannel c =
        ControlChannel::Connect("localhost", kPort + 1, milliseconds(10000));
    EXPECT_THAT(
        [&] {
          c.Call({{"cmd", "event"}}, milliseconds(200));
        },
        ThrowsMessage<ibodp::Error>(
            HasSubstr("nothing on the control connection within 200 ms")));
    // The late reply must not answer the next request.
    std::this_thread::sleep_for(milliseconds(400));
    EXPECT_THAT(
        [&] {
          c.Call({{"cmd", "setup"}}, milliseconds(10000));
        },
        ThrowsMessage<ibodp::Error>(
            HasSubstr("out of step (no reply to event")));
  }
  server.join();
}

TEST(ControlChannelTest, AReplyToAnotherRequestIsAnError) {
  std::thread server([] {
    ControlChannel c = ControlChannel::Accept(kPort + 3, milliseconds(10000));
    c.Receive(milliseconds(10000));
    c.Send({{"seq", 7}, {"cm_port", 1}});
    c.ReceiveOrEnd(milliseconds(10000));
  });
  {
    ControlChannel c =
        ControlChannel::Connect("localhost", kPort + 3, milliseconds(10000));
    EXPECT_THAT(
        [&] {
          c.Call({{"cmd", "setup"}}, milliseconds(10000));
        },
        ThrowsMessage<ibodp::Error>(
            HasSubstr("the reply to setup #1 was another's")));
  }
  server.join();
}

TEST(ControlChannelTest, NoServerNamesTheAddressAndTheLikelyCause) {
  EXPECT_THAT(
      [] {
        ControlChannel::Connect("localhost", kPort + 2, milliseconds(500));
      },
      ThrowsMessage<ibodp::Error>(
          AllOf(HasSubstr("localhost control port 18592"),
                HasSubstr("is the server running?"))));
}

TEST(ControlChannelTest, AnUnresolvableHostSaysHowToWriteALinkLocalOne) {
  EXPECT_THAT(
      [] {
        ControlChannel::Connect("fe80::1%nosuchif0", kPort, milliseconds(500));
      },
      ThrowsMessage<ibodp::Error>(HasSubstr("fe80::1%eth0")));
}

}  // namespace
}  // namespace perftest
