// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
//
// One RC connection set up through the RDMA connection manager
// (librdmacm), as perftest's -R and rping set theirs up: the passive side
// binds a port on every address and accepts the first connect request;
// the active side resolves the peer's address and route, then connects.
// rdma_cm picks the device from the address, so a connection owns its PD,
// CQ and QP on that device: register the MRs it uses on pd(). The private
// data of the request and of the reply carry what each side tells the
// other (an MR's address, length and rkey).
#ifndef IBODP_CM_H_
#define IBODP_CM_H_

#include <infiniband/verbs.h>
#include <rdma/rdma_cma.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "ibodp/verbs.h"

namespace ibodp {

struct CmOptions {
  uint16_t port = 18515;
  uint32_t max_send_wr = 64;
  uint32_t max_recv_wr = 64;
  // Outstanding RDMA READs and atomics, each way. Both sides' QPs
  // advertise kMinRnrTimer (rdma_cm's own would be 655 ms).
  uint8_t rd_atomic = 16;
  // RC transport and RNR retries; 7 is "forever" for rnr_retry.
  uint8_t retry_count = 7;
  uint8_t rnr_retry_count = 7;
  // The active side's local ACK timeout, 4.096 us * 2^ack_timeout before
  // a request is sent again (RDMA_OPTION_ID_ACK_TIMEOUT); 0 leaves
  // rdma_cm's (over RoCE, its packet lifetime 16 plus one: 0.54 s).
  uint8_t ack_timeout = 0;
  // How long each step (resolve, route, connect, accept) may wait.
  std::chrono::milliseconds timeout{10000};
};

struct EventChannelDeleter {
  void operator()(rdma_event_channel* channel) const;
};
struct CmIdDeleter {
  void operator()(rdma_cm_id* id) const;
};
using EventChannel = std::unique_ptr<rdma_event_channel, EventChannelDeleter>;
using CmId = std::unique_ptr<rdma_cm_id, CmIdDeleter>;

// The largest private data of a connect request over RoCE (IBTA: 56
// bytes); the reply may carry more, but both sides use this bound.
inline constexpr size_t kCmPrivateDataBytes = 56;

class CmConnection;

// The passive side's listening id: binds port `port` of every address
// (IPv6 and IPv4) once, so that a server can accept one connection after
// another on it.
class CmListener {
 public:
  // Throws Error naming the port when binding or listening fails.
  explicit CmListener(uint16_t port);

  // Takes the next connect request within opts.timeout whose private data
  // starts with `expect` and answers it with `reply`; the connection gets
  // an event channel of its own. A request that does not match (one left
  // over from a connection this side gave up on) is rejected. Throws
  // Error naming the step that failed.
  std::unique_ptr<CmConnection> Accept(const CmOptions& opts,
                                       std::span<const uint8_t> reply,
                                       std::span<const uint8_t> expect = {});

 private:
  // Declared in creation order: the id goes before its channel.
  EventChannel channel_;
  CmId id_;
  uint16_t port_;
};

class CmConnection {
 public:
  // Passive side: listens on port opts.port of every address (IPv6 and
  // IPv4) and accepts the first connect request within opts.timeout,
  // answering with `reply` (CmListener, once). Throws Error naming the
  // step that failed.
  static std::unique_ptr<CmConnection> Accept(const CmOptions& opts,
                                              std::span<const uint8_t> reply);
  // Active side: `host` is an address or name; an IPv6 link-local one
  // carries its interface (fe80::1%eth0). Throws Error naming the step
  // and the peer, with the event rdma_cm returned instead.
  static std::unique_ptr<CmConnection> Connect(
      const std::string& host, const CmOptions& opts,
      std::span<const uint8_t> request);

  CmConnection(const CmConnection&) = delete;
  CmConnection& operator=(const CmConnection&) = delete;
  // Disconnects, then destroys the QP, CQ, PD and ids in that order.
  ~CmConnection();

  // Disconnects now (the QP goes to the error state and flushes what is
  // posted), so that the MRs on pd() can go before the connection does.
  void Disconnect();

  ibv_pd* pd() const { return pd_.get(); }
  ibv_cq* cq() const { return cq_.get(); }
  ibv_qp* qp() const { return id_->qp; }
  // The device rdma_cm chose: "rxe0".
  std::string device_name() const;
  // What the peer sent in its connect request or reply, padded with
  // zeros to the size the CM message carries (over RoCE 56 bytes for a
  // request, 196 for a reply): send fixed-size records.
  const std::vector<uint8_t>& peer_data() const { return peer_data_; }

 private:
  friend class CmListener;
  explicit CmConnection(EventChannel channel);
  // PD, CQ and QP on the device of id_ (after address resolution or a
  // connect request).
  void CreateQp(const CmOptions& opts);

  // Declared in creation order; the destructor takes the QP down first.
  EventChannel channel_;
  CmId id_;
  ProtectionDomain pd_;
  CompletionQueue cq_;
  std::vector<uint8_t> peer_data_;
};

}  // namespace ibodp

#endif  // IBODP_CM_H_
