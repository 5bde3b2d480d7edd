// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
#include "ibodp/cm.h"

#include <glog/logging.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "ibodp/error.h"
#include "ibodp/resolve.h"

namespace ibodp {
namespace {

// An event of the channel, acknowledged when it goes.
class CmEvent {
 public:
  // Waits up to `timeout` for the next event; `what` names the step for
  // the errors.
  CmEvent(rdma_event_channel* channel, std::chrono::milliseconds timeout,
          const std::string& what) {
    pollfd pfd{channel->fd, POLLIN, 0};
    const int n = poll(&pfd, 1, static_cast<int>(timeout.count()));
    if (n < 0) {
      ThrowErrno(what + ": poll of the rdma_cm event channel", errno);
    }
    if (n == 0) {
      throw Error(what + ": no rdma_cm event within " +
                  std::to_string(timeout.count()) + " ms");
    }
    if (rdma_get_cm_event(channel, &event_) != 0) {
      ThrowErrno(what + ": rdma_get_cm_event", errno);
    }
  }
  CmEvent(const CmEvent&) = delete;
  CmEvent& operator=(const CmEvent&) = delete;
  ~CmEvent() { rdma_ack_cm_event(event_); }

  // Throws Error unless the event is `expected`.
  void Expect(rdma_cm_event_type expected, const std::string& what) const {
    if (event_->event != expected) {
      throw Error(what + ": rdma_cm reported " + rdma_event_str(event_->event) +
                  " (status " + std::to_string(event_->status) +
                  ") where it expected " + rdma_event_str(expected));
    }
  }

  rdma_cm_id* id() const { return event_->id; }
  std::vector<uint8_t> PrivateData() const {
    const auto* data =
        static_cast<const uint8_t*>(event_->param.conn.private_data);
    return {data,
            data + (data != nullptr ? event_->param.conn.private_data_len : 0)};
  }

 private:
  rdma_cm_event* event_ = nullptr;
};

void RequireFits(std::span<const uint8_t> data, const char* what) {
  if (data.size() > kCmPrivateDataBytes) {
    throw Error(std::string(what) + ": " + std::to_string(data.size()) +
                " bytes of private data; a connect request over RoCE "
                "carries at most " +
                std::to_string(kCmPrivateDataBytes));
  }
}

rdma_conn_param ConnParam(const CmOptions& opts,
                          std::span<const uint8_t> data) {
  rdma_conn_param param{};
  param.private_data = data.data();
  param.private_data_len = static_cast<uint8_t>(data.size());
  param.responder_resources = opts.rd_atomic;
  param.initiator_depth = opts.rd_atomic;
  param.retry_count = opts.retry_count;
  param.rnr_retry_count = opts.rnr_retry_count;
  return param;
}

EventChannel NewChannel() {
  EventChannel channel(rdma_create_event_channel());
  if (!channel) {
    ThrowErrno(
        "rdma_create_event_channel (is rdma_ucm loaded, /dev/infiniband/"
        "rdma_cm there?)",
        errno);
  }
  return channel;
}

CmId NewId(rdma_event_channel* channel) {
  rdma_cm_id* id = nullptr;
  if (rdma_create_id(channel, &id, nullptr, RDMA_PS_TCP) != 0) {
    ThrowErrno("rdma_create_id", errno);
  }
  return CmId(id);
}

// rdma_cm sets the RC responder's RNR timer to 0 (655 ms), and userspace
// has no rdma_cm option for it; RTS to RTS may change it.
void SetMinRnrTimer(ibv_qp* qp, const std::string& where) {
  ibv_qp_attr attr{};
  attr.min_rnr_timer = kMinRnrTimer;
  if (const int rc = ibv_modify_qp(qp, &attr, IBV_QP_MIN_RNR_TIMER); rc != 0) {
    ThrowErrno("ibv_modify_qp(MIN_RNR_TIMER " + std::to_string(kMinRnrTimer) +
                   ") on " + where,
               rc);
  }
}

}  // namespace

void EventChannelDeleter::operator()(rdma_event_channel* channel) const {
  rdma_destroy_event_channel(channel);
}

void CmIdDeleter::operator()(rdma_cm_id* id) const {
  if (rdma_destroy_id(id) != 0) {
    LOG(ERROR) << "rdma_destroy_id failed: " << std::strerror(errno);
  }
}

CmConnection::CmConnection(EventChannel channel)
    : channel_(std::move(channel)) {}

CmConnection::~CmConnection() {
  if (id_ && id_->qp != nullptr) {
    Disconnect();
    rdma_destroy_qp(id_.get());
  }
}

void CmConnection::Disconnect() {
  // The peer sees DISCONNECTED; an error here (the peer went first, or an
  // earlier call) changes nothing for the teardown.
  rdma_disconnect(id_.get());
}

void CmConnection::CreateQp(const CmOptions& opts) {
  ibv_context* verbs = id_->verbs;
  const std::string dev = device_name();
  pd_.reset(ibv_alloc_pd(verbs));
  if (!pd_) {
    ThrowErrno("ibv_alloc_pd on " + dev, errno);
  }
  const int depth = static_cast<int>(opts.max_send_wr + opts.max_recv_wr);
  cq_.reset(ibv_create_cq(verbs, depth, nullptr, nullptr, 0));
  if (!cq_) {
    ThrowErrno("ibv_create_cq of " + std::to_string(depth) + " on " + dev,
               errno);
  }
  ibv_qp_init_attr attr{};
  attr.send_cq = cq_.get();
  attr.recv_cq = cq_.get();
  attr.qp_type = IBV_QPT_RC;
  attr.cap.max_send_wr = opts.max_send_wr;
  attr.cap.max_recv_wr = opts.max_recv_wr;
  attr.cap.max_send_sge = 1;
  attr.cap.max_recv_sge = 1;
  if (rdma_create_qp(id_.get(), pd_.get(), &attr) != 0) {
    ThrowErrno("rdma_create_qp on " + dev, errno);
  }
}

std::string CmConnection::device_name() const {
  return id_ && id_->verbs != nullptr ? ibv_get_device_name(id_->verbs->device)
                                      : std::string("(no device)");
}

CmListener::CmListener(uint16_t port)
    : channel_(NewChannel()), id_(NewId(channel_.get())), port_(port) {
  sockaddr_in6 any{};
  any.sin6_family = AF_INET6;
  any.sin6_addr = in6addr_any;
  any.sin6_port = htons(port);
  const std::string where = "port " + std::to_string(port);
  if (rdma_bind_addr(id_.get(), reinterpret_cast<sockaddr*>(&any)) != 0) {
    ThrowErrno("rdma_bind_addr to " + where, errno);
  }
  if (rdma_listen(id_.get(), 1) != 0) {
    ThrowErrno("rdma_listen on " + where, errno);
  }
}

std::unique_ptr<CmConnection> CmListener::Accept(
    const CmOptions& opts, std::span<const uint8_t> reply,
    std::span<const uint8_t> expect) {
  RequireFits(reply, "rdma_accept");
  const std::string where = "port " + std::to_string(port_);
  std::unique_ptr<CmConnection> c(new CmConnection(NewChannel()));
  const std::string waiting = "waiting for a connect request on " + where;
  const auto deadline = std::chrono::steady_clock::now() + opts.timeout;
  while (!c->id_) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    const CmEvent request(
        channel_.get(), std::max(left, std::chrono::milliseconds(0)), waiting);
    request.Expect(RDMA_CM_EVENT_CONNECT_REQUEST, waiting);
    std::vector<uint8_t> data = request.PrivateData();
    if (data.size() < expect.size() ||
        !std::equal(expect.begin(), expect.end(), data.begin())) {
      // Not the one this side waits for: its peer has given up on it.
      // The kernel reports a connect request against the listening id, so
      // the new id has no event to wait for and goes at once.
      rdma_reject(request.id(), nullptr, 0);
      rdma_destroy_id(request.id());
      continue;
    }
    c->id_.reset(request.id());
    c->peer_data_ = std::move(data);
  }
  // The request is acknowledged: its id can move to a channel of its own,
  // where its later events (ESTABLISHED, DISCONNECTED) arrive.
  if (rdma_migrate_id(c->id_.get(), c->channel_.get()) != 0) {
    ThrowErrno("rdma_migrate_id of the connection on " + where, errno);
  }
  c->CreateQp(opts);
  rdma_conn_param param = ConnParam(opts, reply);
  if (rdma_accept(c->id_.get(), &param) != 0) {
    ThrowErrno("rdma_accept on " + where, errno);
  }
  const std::string accepting = "accepting the connection on " + where;
  const CmEvent established(c->channel_.get(), opts.timeout, accepting);
  established.Expect(RDMA_CM_EVENT_ESTABLISHED, accepting);
  SetMinRnrTimer(c->qp(), c->device_name() + " " + where);
  return c;
}

std::unique_ptr<CmConnection> CmConnection::Accept(
    const CmOptions& opts, std::span<const uint8_t> reply) {
  return CmListener(opts.port).Accept(opts, reply);
}

std::unique_ptr<CmConnection> CmConnection::Connect(
    const std::string& host, const CmOptions& opts,
    std::span<const uint8_t> request) {
  RequireFits(request, "rdma_connect");
  const std::string peer = host + " port " + std::to_string(opts.port);
  const AddrInfo addr = Resolve(host, opts.port, peer);
  std::unique_ptr<CmConnection> c(new CmConnection(NewChannel()));
  c->id_ = NewId(c->channel_.get());
  const auto ms = static_cast<int>(opts.timeout.count());
  if (rdma_resolve_addr(c->id_.get(), nullptr, addr->ai_addr, ms) != 0) {
    ThrowErrno("rdma_resolve_addr of " + peer, errno);
  }
  const std::string resolving = "resolving the address of " + peer;
  CmEvent(c->channel_.get(), opts.timeout, resolving)
      .Expect(RDMA_CM_EVENT_ADDR_RESOLVED, resolving);
  if (opts.ack_timeout != 0) {
    // Before the route: over RoCE, rdma_cm derives the path's packet
    // lifetime from it too.
    uint8_t timeout = opts.ack_timeout;
    if (rdma_set_option(c->id_.get(), RDMA_OPTION_ID,
                        RDMA_OPTION_ID_ACK_TIMEOUT, &timeout,
                        sizeof(timeout)) != 0) {
      ThrowErrno("rdma_set_option(ACK_TIMEOUT " +
                     std::to_string(opts.ack_timeout) + ") for " + peer,
                 errno);
    }
  }
  if (rdma_resolve_route(c->id_.get(), ms) != 0) {
    ThrowErrno("rdma_resolve_route to " + peer, errno);
  }
  const std::string routing = "resolving the route to " + peer;
  CmEvent(c->channel_.get(), opts.timeout, routing)
      .Expect(RDMA_CM_EVENT_ROUTE_RESOLVED, routing);
  c->CreateQp(opts);
  rdma_conn_param param = ConnParam(opts, request);
  if (rdma_connect(c->id_.get(), &param) != 0) {
    ThrowErrno("rdma_connect to " + peer, errno);
  }
  const std::string connecting =
      "connecting to " + peer + " on " + c->device_name();
  const CmEvent established(c->channel_.get(), opts.timeout, connecting);
  established.Expect(RDMA_CM_EVENT_ESTABLISHED, connecting);
  c->peer_data_ = established.PrivateData();
  SetMinRnrTimer(c->qp(), c->device_name() + " to " + peer);
  return c;
}

}  // namespace ibodp
