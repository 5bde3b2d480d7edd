// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
#include <utility>

#include "ibodp/error.h"
#include "remote.h"

namespace perftest {

using nlohmann::json;

RemoteBench::RemoteBench(ControlChannel& control, const std::string& host,
                         const ibodp::CmOptions& cm, const Scenario& scenario,
                         std::chrono::milliseconds timeout)
    : scenario_(scenario),
      layout_(scenario_),
      control_(control),
      timeout_(timeout),
      local_(ibodp::Mapping::Anonymous(1)) {
  const json setup =
      Call({{"cmd", "setup"}, {"scenario", ScenarioJson(scenario)}});
  ibodp::CmOptions opts = cm;
  opts.port = ReplyField<uint16_t>(setup, "cm_port");
  opts.max_send_wr = static_cast<uint32_t>(scenario.pages);
  opts.max_recv_wr = static_cast<uint32_t>(scenario.pages);
  conn_ = ibodp::CmConnection::Connect(
      host, opts, TokenBytes(ReplyField<uint64_t>(setup, "token")));
  const json mr = Call({{"cmd", "mr"}});
  remote_addr_ = ReplyField<uint64_t>(mr, "addr");
  registration_time_ =
      std::chrono::nanoseconds(ReplyField<int64_t>(mr, "registration_ns"));
  local_ = ibodp::Mapping::Anonymous(scenario.pages * layout_.stride());
  local_mr_ =
      ibodp::RegisterMr(conn_->pd(), local_.data(), local_.size(),
                        ibodp::kFullAccess, ibodp::Registration::kPinned);
  sends_ = std::make_unique<SendChain>(
      scenario_, layout_, reinterpret_cast<uint64_t>(local_.data()),
      local_mr_->lkey, ReplyField<uint32_t>(mr, "rkey"));
  wcs_.resize(scenario.pages);
  try {
    requester_ = std::make_unique<ibodp::HwCounters>(conn_->device_name(), 1);
  } catch (const ibodp::Unsupported& e) {
    requester_reason_ = e.what();
  }
}

json RemoteBench::Call(const json& request) {
  return control_.Call(request, kControlTimeout);
}

std::chrono::nanoseconds RemoteBench::RunOp(uint64_t index,
                                            bool /*since_event*/) {
  const uint64_t first_slot = layout_.FirstSlot(index);
  sends_->Retarget(remote_addr_, first_slot);
  if (scenario_.op == Op::kSend) {
    Call({{"cmd", "recv"}, {"slot", first_slot}});
  }
  const auto start = std::chrono::steady_clock::now();
  sends_->Post(conn_->qp());
  PollCompletions(conn_->cq(), wcs_, static_cast<int>(scenario_.pages), start,
                  timeout_, scenario_);
  return std::chrono::steady_clock::now() - start;
}

std::chrono::nanoseconds RemoteBench::ApplyEvent() {
  return std::chrono::nanoseconds(
      ReplyField<int64_t>(Call({{"cmd", "event"}}), "event_ns"));
}

bool RemoteBench::PrepareBackground() {
  return ReplyField<bool>(Call({{"cmd", "prepare"}}), "unmapped");
}

void RemoteBench::StartBackground() { Call({{"cmd", "start"}}); }

void RemoteBench::StopBackground() { Call({{"cmd", "stop"}}); }

void RemoteBench::BeginCounting() {
  if (requester_) {
    requester_before_ = requester_->Read();
  }
  Call({{"cmd", "begin"}});
}

std::vector<Counters> RemoteBench::EndCounting() {
  const json list = ReplyField<json>(Call({{"cmd", "end"}}), "counters");
  std::vector<Counters> counters;
  for (size_t i = 0; i < list.size(); ++i) {
    counters.push_back(
        CountersFromJson(list[i], "counters[" + std::to_string(i) + "]"));
  }
  Counters requester;
  requester.source = kRequesterSource;
  if (requester_) {
    requester.available = true;
    requester.values =
        ibodp::CounterDelta(requester_before_, requester_->Read());
  } else {
    requester.unavailable_reason = requester_reason_;
  }
  counters.push_back(std::move(requester));
  return counters;
}

ibodp::CounterValues RemoteBench::PeekCounters() {
  return CounterValuesFromJson(Call({{"cmd", "peek"}}), "peek");
}

}  // namespace perftest
