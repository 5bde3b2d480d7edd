// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
#include "control.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <memory>
#include <thread>
#include <utility>

#include "ibodp/error.h"
#include "ibodp/resolve.h"

namespace perftest {
namespace {

using Clock = std::chrono::steady_clock;

// How long the client waits between two connection attempts.
constexpr std::chrono::milliseconds kConnectRetry{200};

int MillisLeft(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - Clock::now());
  return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

// Waits until `fd` is readable, without a limit when `forever`; false on
// a timeout.
bool WaitReadable(int fd, Clock::time_point deadline, const std::string& what,
                  bool forever = false) {
  pollfd pfd{fd, POLLIN, 0};
  const int n = poll(&pfd, 1, forever ? -1 : MillisLeft(deadline));
  if (n < 0) {
    ibodp::ThrowErrno(what + ": poll", errno);
  }
  return n > 0;
}

std::string AddressText(const sockaddr* addr, socklen_t len) {
  std::array<char, NI_MAXHOST> host{};
  std::array<char, NI_MAXSERV> serv{};
  if (getnameinfo(addr, len, host.data(), host.size(), serv.data(), serv.size(),
                  NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
    return "(unknown address)";
  }
  return std::string(host.data()) + " port " + serv.data();
}

}  // namespace

ControlChannel::ControlChannel(ibodp::UniqueFd fd, std::string peer)
    : fd_(std::move(fd)), peer_(std::move(peer)) {}

ControlChannel ControlChannel::Accept(uint16_t port,
                                      std::chrono::milliseconds timeout) {
  const std::string where = "control port " + std::to_string(port);
  ibodp::UniqueFd listener(socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (listener.get() < 0) {
    ibodp::ThrowErrno("socket for the " + where, errno);
  }
  const int off = 0;
  const int on = 1;
  setsockopt(listener.get(), IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
  setsockopt(listener.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
  sockaddr_in6 any{};
  any.sin6_family = AF_INET6;
  any.sin6_addr = in6addr_any;
  any.sin6_port = htons(port);
  if (bind(listener.get(), reinterpret_cast<sockaddr*>(&any), sizeof(any)) !=
      0) {
    ibodp::ThrowErrno("bind to TCP " + where +
                          " (another perftest --server? choose another "
                          "--control_port)",
                      errno);
  }
  if (listen(listener.get(), 1) != 0) {
    ibodp::ThrowErrno("listen on " + where, errno);
  }
  const std::string waiting = "waiting for perftest --client on " + where;
  if (!WaitReadable(listener.get(), Clock::now() + timeout, waiting)) {
    throw ibodp::Error(waiting + ": no client within " +
                       std::to_string(timeout.count()) + " ms");
  }
  sockaddr_storage peer{};
  socklen_t len = sizeof(peer);
  ibodp::UniqueFd fd(accept4(listener.get(), reinterpret_cast<sockaddr*>(&peer),
                             &len, SOCK_CLOEXEC));
  if (fd.get() < 0) {
    ibodp::ThrowErrno("accept on " + where, errno);
  }
  return {std::move(fd), AddressText(reinterpret_cast<sockaddr*>(&peer), len)};
}

ControlChannel ControlChannel::Connect(const std::string& host, uint16_t port,
                                       std::chrono::milliseconds timeout) {
  const std::string peer = host + " control port " + std::to_string(port);
  const ibodp::AddrInfo addr = ibodp::Resolve(host, port, peer);
  const auto deadline = Clock::now() + timeout;
  int last = 0;
  do {
    ibodp::UniqueFd fd(
        socket(addr->ai_family, SOCK_STREAM | SOCK_CLOEXEC, addr->ai_protocol));
    if (fd.get() < 0) {
      ibodp::ThrowErrno("socket to " + peer, errno);
    }
    if (connect(fd.get(), addr->ai_addr, addr->ai_addrlen) == 0) {
      return {std::move(fd), host};
    }
    last = errno;
    if (last != ECONNREFUSED && last != ENETUNREACH && last != EHOSTUNREACH) {
      break;
    }
    std::this_thread::sleep_for(kConnectRetry);
  } while (Clock::now() < deadline);
  ibodp::ThrowErrno("connecting to perftest --server at " + peer + " (for " +
                        std::to_string(timeout.count()) +
                        " ms; is the server running?)",
                    last);
}

void ControlChannel::Send(const nlohmann::json& message) {
  const std::string line = message.dump() + "\n";
  size_t sent = 0;
  while (sent < line.size()) {
    const ssize_t n =
        send(fd_.get(), line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      ibodp::ThrowErrno("sending to " + peer_ + " on the control connection",
                        errno);
    }
    sent += static_cast<size_t>(n);
  }
}

nlohmann::json ControlChannel::ReceiveOrEnd(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  const std::string what = "receiving from " + peer_;
  size_t end = pending_.find('\n');
  while (end == std::string::npos) {
    if (!WaitReadable(fd_.get(), deadline, what, timeout == kForever)) {
      throw ibodp::Error(what + ": nothing on the control connection within " +
                         std::to_string(timeout.count()) + " ms");
    }
    std::array<char, 4096> buf{};
    const ssize_t n = recv(fd_.get(), buf.data(), buf.size(), 0);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      ibodp::ThrowErrno(what, errno);
    }
    if (n == 0) {
      if (pending_.empty()) {
        return nullptr;
      }
      throw ibodp::Error(what + ": the connection closed in a message");
    }
    pending_.append(buf.data(), static_cast<size_t>(n));
    end = pending_.find('\n');
  }
  const std::string line = pending_.substr(0, end);
  pending_.erase(0, end + 1);
  nlohmann::json message = nlohmann::json::parse(line, nullptr, false);
  if (!message.is_object()) {
    throw ibodp::Error(what + ": not a JSON object: " + line.substr(0, 200));
  }
  return message;
}

nlohmann::json ControlChannel::Receive(std::chrono::milliseconds timeout) {
  nlohmann::json message = ReceiveOrEnd(timeout);
  if (message.is_null()) {
    throw ibodp::Error("receiving from " + peer_ +
                       ": the peer closed the control connection");
  }
  return message;
}

nlohmann::json ControlChannel::Call(nlohmann::json request,
                                    std::chrono::milliseconds timeout) {
  const std::string cmd = request.value("cmd", std::string("?"));
  if (!broken_.empty()) {
    throw ibodp::Error("control connection to " + peer_ + " out of step (" +
                       broken_ + "); not sending " + cmd);
  }
  const uint64_t seq = next_seq_++;
  request["seq"] = seq;
  Send(request);
  nlohmann::json reply;
  try {
    reply = Receive(timeout);
  } catch (const ibodp::Error& e) {
    broken_ = "no reply to " + cmd + ": " + e.what();
    throw;
  }
  const auto got = reply.find("seq");
  if (got == reply.end() || !got->is_number_unsigned() ||
      got->get<uint64_t>() != seq) {
    broken_ = "the reply to " + cmd + " #" + std::to_string(seq) +
              " was another's: " + reply.dump().substr(0, 200);
    throw ibodp::Error("control connection to " + peer_ + ": " + broken_);
  }
  if (const auto it = reply.find("error"); it != reply.end()) {
    const std::string what =
        "perftest --server at " + peer_ + ", " + cmd + ": " +
        (it->is_string() ? it->get<std::string>() : it->dump());
    if (ReplyField<bool>(reply, "unsupported")) {
      throw ibodp::Unsupported(what);
    }
    throw ibodp::Error(what);
  }
  return reply;
}

nlohmann::json Reply(const nlohmann::json& request, nlohmann::json body) {
  if (const auto seq = request.find("seq"); seq != request.end()) {
    body["seq"] = *seq;
  }
  return body;
}

nlohmann::json ErrorReply(const nlohmann::json& request,
                          const std::string& what, bool unsupported) {
  return Reply(request, {{"error", what}, {"unsupported", unsupported}});
}

}  // namespace perftest
