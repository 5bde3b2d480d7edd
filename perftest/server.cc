// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
#include "server.h"

#include <infiniband/verbs.h>

#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "control.h"
#include "ibodp/caps.h"
#include "ibodp/error.h"
#include "ops.h"
#include "remote.h"
#include "target.h"
#include "workload.h"

namespace perftest {
namespace {

using nlohmann::json;

// How much longer than the client's three connection steps the server
// waits for its connect request.
constexpr std::chrono::seconds kClientSlack{5};

// The server's side of one scenario: the MR under test on the rdma_cm
// connection's PD, its event, and its background while one runs.
class ServedScenario {
 public:
  // Throws ibodp::Unsupported when `dev` cannot be the responder of it.
  ServedScenario(const ibodp::Device& dev, const Scenario& scenario,
                 CounterSources& sources, std::chrono::milliseconds timeout)
      : dev_(dev),
        scenario_(scenario),
        layout_(scenario_),
        sources_(sources),
        timeout_(timeout),
        wcs_(scenario.pages) {
    ibodp::RequireOdp(ibodp::QueryOdpCaps(dev), ibodp::Transport::kRc,
                      RequiredOdpCaps(scenario.op), dev.name());
    if (scenario.registration == Registration::kOdpPrefetch) {
      throw ibodp::Unsupported(
          "odp-prefetch over two nodes: the prefetch after an event would "
          "run in the server, outside the requester's latency");
    }
  }

  // The connection goes first, so that no packet reaches the MR while it
  // is deregistered.
  ~ServedScenario() {
    if (conn_) {
      conn_->Disconnect();
    }
  }
  ServedScenario(const ServedScenario&) = delete;
  ServedScenario& operator=(const ServedScenario&) = delete;

  // Accepts the client's connection for set-up number `token` (a request
  // with another, one that an earlier client gave up on, is rejected),
  // then maps and registers the MR on its PD. An error is kept for the
  // client's next request ("mr").
  void Connect(ibodp::CmListener& listener, const ibodp::CmOptions& opts,
               uint64_t token) {
    try {
      ibodp::CmOptions cm = opts;
      cm.max_send_wr = static_cast<uint32_t>(scenario_.pages);
      cm.max_recv_wr = static_cast<uint32_t>(scenario_.pages);
      // The client's connect takes up to three steps of opts.timeout
      // (address, route, connect) after it reads the set-up's reply.
      cm.timeout = 3 * opts.timeout + kClientSlack;
      const auto expect = TokenBytes(token);
      conn_ = listener.Accept(cm, {}, expect);
      if (conn_->device_name() != dev_.name()) {
        throw ibodp::Error("rdma_cm connected the client on " +
                           conn_->device_name() + ", not on --device " +
                           dev_.name() +
                           ": give the device of the address "
                           "the client connects to");
      }
      target_ = std::make_unique<TargetMr>(conn_->pd(), scenario_);
      slots_ = std::make_unique<SlotChain>(scenario_, layout_, target_->lkey());
    } catch (const std::exception& e) {
      connect_error_ = e.what();
    }
  }

  json Handle(const std::string& cmd, const json& request) {
    if (!connect_error_.empty()) {
      throw ibodp::Error("setting the scenario up: " + connect_error_);
    }
    if (cmd == "mr") {
      return {{"addr", target_->addr()},
              {"rkey", target_->rkey()},
              {"registration_ns", target_->RegistrationTime().count()}};
    }
    if (cmd == "recv") {
      PostRecvs(request.at("slot").get<uint64_t>());
      return json::object();
    }
    if (cmd == "event") {
      return {{"event_ns", target_->ApplyEvent().count()}};
    }
    if (cmd == "prepare") {
      return {{"unmapped", target_->PrepareBackground()}};
    }
    if (cmd == "start") {
      target_->StartBackground();
      return json::object();
    }
    if (cmd == "stop") {
      target_->StopBackground();
      return json::object();
    }
    if (cmd == "begin") {
      sources_.Begin();
      return json::object();
    }
    if (cmd == "end") {
      json counters = json::array();
      for (const Counters& c : sources_.End()) {
        counters.push_back(CountersJson(c, "counters"));
      }
      return {{"counters", std::move(counters)}};
    }
    if (cmd == "peek") {
      return {{"values", sources_.Peek()}};
    }
    throw ibodp::Error("unknown request '" + cmd + "'");
  }

 private:
  // The RECVs of a SEND op into its slots, after those of the last op
  // have completed (the client asks once its op has completed).
  void PostRecvs(uint64_t first_slot) {
    if (outstanding_ > 0) {
      PollCompletions(conn_->cq(), wcs_, static_cast<int>(outstanding_),
                      std::chrono::steady_clock::now(), timeout_, scenario_);
      outstanding_ = 0;
    }
    slots_->Retarget(target_->addr(), first_slot);
    slots_->PostRecvs(conn_->qp());
    outstanding_ = scenario_.pages;
  }

  const ibodp::Device& dev_;
  Scenario scenario_;
  SlotLayout layout_;
  CounterSources& sources_;
  std::chrono::milliseconds timeout_;
  std::vector<ibv_wc> wcs_;
  uint64_t outstanding_ = 0;
  std::string connect_error_;
  // Declared in creation order: teardown runs in reverse.
  std::unique_ptr<ibodp::CmConnection> conn_;
  std::unique_ptr<TargetMr> target_;
  std::unique_ptr<SlotChain> slots_;
};

}  // namespace

void Serve(const ibodp::Device& dev, const ServerOptions& opts,
           CounterSources& sources, const Context& context) {
  ibodp::CmListener listener(opts.cm.port);
  std::cerr << "perftest: server on " << dev.name() << ": control port "
            << opts.control_port << ", rdma_cm port " << opts.cm.port
            << "; waiting for perftest --client\n";
  ControlChannel control = ControlChannel::Accept(opts.control_port, opts.wait);
  std::cerr << "perftest: client " << control.peer() << " connected\n";
  std::unique_ptr<ServedScenario> current;
  uint64_t scenarios = 0;
  for (;;) {
    // No limit: a scenario's warm-up and measured ops send nothing here,
    // and the client's end of the connection ends the wait.
    const json request = control.ReceiveOrEnd(ControlChannel::kForever);
    if (request.is_null()) {
      throw ibodp::Error(
          "the client closed the control connection without "
          "saying bye (did perftest --client fail?)");
    }
    json reply;
    bool accept = false;
    try {
      const std::string cmd = request.at("cmd").get<std::string>();
      if (cmd == "hello") {
        reply = {{"context", ContextJson(context)}};
      } else if (cmd == "bye") {
        current.reset();
        control.Send(Reply(request, json::object()));
        std::cerr << "perftest: server done after " << scenarios
                  << " scenario set-ups\n";
        return;
      } else if (cmd == "setup") {
        // The last scenario's connection and MR go first.
        current.reset();
        current = std::make_unique<ServedScenario>(
            dev, ScenarioFromJson(request.at("scenario"), "scenario"), sources,
            opts.cm.timeout);
        ++scenarios;
        reply = {{"cm_port", opts.cm.port}, {"token", scenarios}};
        accept = true;
      } else if (!current) {
        throw ibodp::Error("'" + cmd + "' before any setup");
      } else {
        reply = current->Handle(cmd, request);
      }
    } catch (const ibodp::Unsupported& e) {
      reply = ErrorReply(request, e.what(), true);
    } catch (const ibodp::Error& e) {
      reply = ErrorReply(request, e.what(), false);
    } catch (const json::exception& e) {
      reply =
          ErrorReply(request, std::string("bad request: ") + e.what(), false);
    } catch (const std::exception& e) {
      // A bug or exhaustion here (bad_alloc, a thread that would not
      // start): the client hears of it, and the next setup starts afresh.
      accept = false;
      current.reset();
      reply = ErrorReply(request, std::string("internal error: ") + e.what(),
                         false);
    }
    control.Send(Reply(request, std::move(reply)));
    if (accept) {
      current->Connect(listener, opts.cm, scenarios);
    }
  }
}

}  // namespace perftest
