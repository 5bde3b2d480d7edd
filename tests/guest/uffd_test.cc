// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
//
// Device access to an ODP MR page that userfaultfd has write-protected
// (bug (c) of "Memory that moves").
//
// A device write there, with no thread serving the userfaultfd, faults in
// the driver's worker, a kernel thread that no signal reaches. It must not
// wait for a user-space handler that may never come (or may be this very
// process, blocked tearing the QP down): it must complete with a remote
// access error, leave the page alone, and let the process tear down and
// exit. On vanilla the worker sleeps in handle_userfault() until the
// protection is lifted; base-patches 0007 and 0008 make it fail.
//
// A process can also opt out: a userfaultfd opened with UFFD_USER_MODE_ONLY
// hands only user-mode faults to its handler and fails every other fault
// at once, the driver's among them. The second test holds that to the
// same checks, on every kernel.
//
// A fault that the process takes itself, a synchronous prefetch, can be
// ended by a signal: it must still wait for the handler and succeed once
// the handler lifts the protection (the third test).
//
// The device-write scenario runs in a child process so that a kernel that
// wedges the QP cannot wedge the test: the child lifts the write
// protection once the write completes, or from a watchdog thread after
// kWatchdog, which wakes any fault that waits for it; the parent gives the
// child kChildDeadline in all.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "ibodp/caps.h"
#include "ibodp/device.h"
#include "ibodp/error.h"
#include "ibodp/loopback.h"
#include "ibodp/mapping.h"
#include "ibodp/pattern.h"
#include "ibodp/prefetch.h"
#include "ibodp/unique_fd.h"
#include "ibodp/verbs.h"
#include "ibodp/work.h"
#include "odp_fixture.h"

namespace ibodp::guest {
namespace {

constexpr size_t kPages = 4;
constexpr std::chrono::seconds kWatchdog{20};
constexpr std::chrono::seconds kChildDeadline{90};
constexpr std::chrono::milliseconds kPollTimeout{40000};

// What the child reports through its pipe.
struct Outcome {
  int stage = 0;  // 0: set-up failed (see error); 1: write completed
  int wc_status = -1;
  double seconds = 0;
  bool watchdog_fired = false;
  bool page_unchanged = false;
  bool skipped = false;
  char error[240] = {};
};

void SetError(Outcome* out, const std::string& what) {
  std::snprintf(out->error, sizeof(out->error), "%s", what.c_str());
}

// Which faults the userfaultfd hands to its handler.
enum class UffdMode { kAllFaults, kUserModeOnly };

class Userfaultfd {
 public:
  explicit Userfaultfd(UffdMode mode) {
    const int flags =
        O_CLOEXEC | O_NONBLOCK |
        (mode == UffdMode::kUserModeOnly ? UFFD_USER_MODE_ONLY : 0);
    fd_ = UniqueFd(static_cast<int>(syscall(SYS_userfaultfd, flags)));
    if (fd_.get() < 0) {
      if (errno == ENOSYS || errno == EPERM) {
        throw Unsupported(ErrnoMessage(
            "userfaultfd (needs CONFIG_USERFAULTFD and root)", errno));
      }
      if (errno == EINVAL && mode == UffdMode::kUserModeOnly) {
        throw Unsupported(ErrnoMessage(
            "userfaultfd(UFFD_USER_MODE_ONLY) (Linux 5.11+)", errno));
      }
      ThrowErrno("userfaultfd", errno);
    }
    uffdio_api api{};
    api.api = UFFD_API;
    api.features = UFFD_FEATURE_PAGEFAULT_FLAG_WP;
    if (ioctl(fd_.get(), UFFDIO_API, &api) != 0) {
      throw Unsupported(
          ErrnoMessage("UFFDIO_API with UFFD_FEATURE_PAGEFAULT_FLAG_WP (needs "
                       "CONFIG_HAVE_ARCH_USERFAULTFD_WP)",
                       errno));
    }
  }
  Userfaultfd(const Userfaultfd&) = delete;
  Userfaultfd& operator=(const Userfaultfd&) = delete;

  void RegisterWriteProtect(void* addr, size_t len) const {
    uffdio_register reg{};
    reg.range = {reinterpret_cast<uint64_t>(addr), len};
    reg.mode = UFFDIO_REGISTER_MODE_WP;
    if (ioctl(fd_.get(), UFFDIO_REGISTER, &reg) != 0) {
      ThrowErrno("UFFDIO_REGISTER (MODE_WP)", errno);
    }
  }

  // Write-protects the range, or lifts the protection and wakes whoever
  // waits on it.
  void WriteProtect(void* addr, size_t len, bool protect) const {
    uffdio_writeprotect wp{};
    wp.range = {reinterpret_cast<uint64_t>(addr), len};
    wp.mode = protect ? UFFDIO_WRITEPROTECT_MODE_WP : 0;
    if (ioctl(fd_.get(), UFFDIO_WRITEPROTECT, &wp) != 0) {
      ThrowErrno("UFFDIO_WRITEPROTECT", errno);
    }
  }

  // The next message, or nullopt if none comes within `timeout`.
  std::optional<uffd_msg> Read(std::chrono::milliseconds timeout) const {
    pollfd p{fd_.get(), POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(timeout.count())) != 1) {
      return std::nullopt;
    }
    uffd_msg msg{};
    if (read(fd_.get(), &msg, sizeof(msg)) !=
        static_cast<ssize_t>(sizeof(msg))) {
      return std::nullopt;
    }
    return msg;
  }

 private:
  UniqueFd fd_;
};

// The child's whole scenario; returns what it saw.
Outcome RunScenario(UffdMode mode) {
  Outcome out;
  try {
    auto dev = std::make_unique<Device>(DeviceName());
    RequireOdp(QueryOdpCaps(*dev), Transport::kRc, IBV_ODP_SUPPORT_WRITE,
               dev->name());
    const size_t bytes = kPages * PageSize();
    ProtectionDomain pd = AllocPd(*dev);
    auto pair =
        std::make_unique<LoopbackRcPair>(*dev, pd.get(), LoopbackOptions{});
    Mapping local = Mapping::Anonymous(bytes);
    Mapping remote = Mapping::Anonymous(bytes);
    MemoryRegion local_mr = RegisterMr(pd.get(), local.data(), bytes,
                                       kFullAccess, Registration::kPinned);
    MemoryRegion remote_mr = RegisterMr(pd.get(), remote.data(), bytes,
                                        kFullAccess, Registration::kOdp);
    FillPattern(remote.bytes(), 1);
    const Userfaultfd uffd(mode);
    uffd.RegisterWriteProtect(remote.data(), bytes);
    const ibv_sge sge{reinterpret_cast<uint64_t>(local.data()),
                      static_cast<uint32_t>(PageSize()), local_mr->lkey};
    const RemoteBuffer target{reinterpret_cast<uint64_t>(remote.data()),
                              remote_mr->rkey};
    // Warm: the page is in the MR with write access before it is
    // protected, so the write-protect must take that access away.
    FillPattern(local.bytes(), 1);
    PostRdma(pair->a(), IBV_WR_RDMA_WRITE, sge, target, 1);
    if (PollOne(pair->cq(), std::chrono::seconds(10)).status !=
        IBV_WC_SUCCESS) {
      SetError(&out, "the warm-up RDMA WRITE failed");
      return out;
    }
    // What the protected range holds, as the CPU sees it: the device must
    // not change it. (A snapshot, not the pattern: vanilla's copy bug,
    // base-patches/0001, garbles a warm-up WRITE of more than one packet.)
    const std::vector<uint8_t> before(remote.bytes().begin(),
                                      remote.bytes().end());
    uffd.WriteProtect(remote.data(), bytes, true);

    std::atomic<bool> done{false};
    std::atomic<bool> fired{false};
    std::thread watchdog([&] {
      const auto until = std::chrono::steady_clock::now() + kWatchdog;
      while (!done && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      if (!done) {
        fired = true;
        uffd.WriteProtect(remote.data(), bytes, false);
      }
    });
    FillPattern(local.bytes(), 2);
    const auto t0 = std::chrono::steady_clock::now();
    PostRdma(pair->a(), IBV_WR_RDMA_WRITE, sge, target, 2);
    const ibv_wc wc = PollOne(pair->cq(), kPollTimeout);
    out.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
            .count();
    done = true;
    watchdog.join();
    // Lift the protection before teardown, whatever happened: a fault that
    // still waits on the userfaultfd would wedge the QP's destruction.
    if (!fired) {
      uffd.WriteProtect(remote.data(), bytes, false);
    }
    out.stage = 1;
    out.wc_status = wc.status;
    out.watchdog_fired = fired;
    out.page_unchanged =
        std::equal(before.begin(), before.end(), remote.bytes().begin());
    // Teardown (QPs, MRs, PD) runs here, before the child reports.
  } catch (const Unsupported& e) {
    out.skipped = true;
    SetError(&out, e.what());
  } catch (const std::exception& e) {
    SetError(&out, e.what());
  }
  return out;
}

// Runs the scenario in a child and checks its outcome.
void ExpectRemoteAccessError(UffdMode mode) {
  int fds[2];
  ASSERT_EQ(pipe2(fds, O_CLOEXEC), 0);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(fds[0]);
    const Outcome out = RunScenario(mode);
    const ssize_t n = write(fds[1], &out, sizeof(out));
    _exit(n == static_cast<ssize_t>(sizeof(out)) ? 0 : 1);
  }
  close(fds[1]);
  Outcome out;
  pollfd p{fds[0], POLLIN, 0};
  const int ready =
      poll(&p, 1,
           static_cast<int>(std::chrono::milliseconds(kChildDeadline).count()));
  const bool reported = ready == 1 && read(fds[0], &out, sizeof(out)) ==
                                          static_cast<ssize_t>(sizeof(out));
  close(fds[0]);
  if (!reported) {
    kill(pid, SIGKILL);
    FAIL() << "the child did not finish the write and its teardown within "
           << kChildDeadline.count()
           << " s: the QP or the process is wedged (see the kernel log)";
  }
  int status = 0;
  EXPECT_EQ(waitpid(pid, &status, 0), pid);
  if (out.skipped) {
    GTEST_SKIP() << out.error;
  }
  ASSERT_EQ(out.stage, 1) << out.error;
  EXPECT_EQ(out.wc_status, IBV_WC_REM_ACCESS_ERR)
      << "the RDMA WRITE completed with "
      << ibv_wc_status_str(static_cast<ibv_wc_status>(out.wc_status))
      << " after " << out.seconds << " s";
  EXPECT_FALSE(out.watchdog_fired)
      << "the write waited for the userfaultfd until the watchdog lifted "
         "the protection after "
      << kWatchdog.count() << " s";
  EXPECT_TRUE(out.page_unchanged)
      << "the device wrote into a write-protected page";
}

TEST(Uffd, DeviceWriteToAWriteProtectedPageIsARemoteAccessError) {
  ExpectRemoteAccessError(UffdMode::kAllFaults);
}

// The workaround: the device's fault is not a user-mode fault, so a
// userfaultfd that serves only those fails it without waiting.
TEST(Uffd, UserModeOnlyUffdMakesADeviceWriteARemoteAccessError) {
  ExpectRemoteAccessError(UffdMode::kUserModeOnly);
}

// A handler thread for the prefetch test: it serves write-protect faults
// on [addr, addr + len) by lifting the protection, and counts them, until
// Stop() or until kWatchdog has passed; then it lifts the protection
// anyway, so that no fault waits past it.
class WriteProtectHandler {
 public:
  WriteProtectHandler(const Userfaultfd& uffd, void* addr, size_t len)
      : uffd_(uffd), addr_(addr), len_(len), thread_([this] { Serve(); }) {}
  WriteProtectHandler(const WriteProtectHandler&) = delete;
  WriteProtectHandler& operator=(const WriteProtectHandler&) = delete;
  ~WriteProtectHandler() { Stop(); }

  void Stop() {
    stop_ = true;
    if (thread_.joinable()) {
      thread_.join();
    }
  }
  // Read after Stop().
  int faults() const { return faults_; }
  uint64_t first_address() const { return first_address_; }
  bool timed_out() const { return timed_out_; }
  const std::string& error() const { return error_; }

 private:
  void Serve() {
    const auto until = std::chrono::steady_clock::now() + kWatchdog;
    try {
      while (!stop_ && std::chrono::steady_clock::now() < until) {
        const std::optional<uffd_msg> msg =
            uffd_.Read(std::chrono::milliseconds(20));
        if (!msg) {
          continue;
        }
        if (msg->event == UFFD_EVENT_PAGEFAULT &&
            (msg->arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WP) != 0 &&
            faults_++ == 0) {
          first_address_ = msg->arg.pagefault.address;
        }
        uffd_.WriteProtect(addr_, len_, false);
      }
      if (!stop_) {
        timed_out_ = true;
        uffd_.WriteProtect(addr_, len_, false);
      }
    } catch (const std::exception& e) {
      error_ = e.what();
    }
  }

  const Userfaultfd& uffd_;
  void* const addr_;
  const size_t len_;
  std::atomic<bool> stop_{false};
  int faults_ = 0;
  uint64_t first_address_ = 0;
  bool timed_out_ = false;
  std::string error_;
  std::thread thread_;  // last: starts once the members above exist
};

// The process's own fault, a synchronous prefetch (ibv_advise_mr with
// IBV_ADVISE_MR_FLAG_FLUSH), is killable: it waits for the handler, which
// gets exactly one write-protect fault (the first page; lifting the
// protection of the whole range serves the rest), and then succeeds.
TEST(Uffd, SynchronousPrefetchWaitsForTheHandler) {
  std::unique_ptr<Device> dev;
  std::unique_ptr<Userfaultfd> uffd;
  try {
    dev = std::make_unique<Device>(DeviceName());
    RequireOdp(QueryOdpCaps(*dev), Transport::kRc, IBV_ODP_SUPPORT_WRITE,
               dev->name());
    uffd = std::make_unique<Userfaultfd>(UffdMode::kAllFaults);
  } catch (const Unsupported& e) {
    GTEST_SKIP() << e.what();
  }
  const size_t bytes = kPages * PageSize();
  ProtectionDomain pd = AllocPd(*dev);
  Mapping region = Mapping::Anonymous(bytes);
  MemoryRegion mr = RegisterMr(pd.get(), region.data(), bytes, kFullAccess,
                               Registration::kOdp);
  FillPattern(region.bytes(), 1);
  uffd->RegisterWriteProtect(region.data(), bytes);
  uffd->WriteProtect(region.data(), bytes, true);

  WriteProtectHandler handler(*uffd, region.data(), bytes);
  std::string error;
  try {
    PrefetchMr(*mr, region.data(), bytes, PrefetchAccess::kWrite,
               /*wait=*/true);
  } catch (const Unsupported& e) {
    handler.Stop();
    GTEST_SKIP() << e.what();
  } catch (const std::exception& e) {
    error = e.what();
  }
  handler.Stop();
  ASSERT_EQ(handler.error(), "") << "the handler thread failed";
  EXPECT_FALSE(handler.timed_out())
      << "the prefetch still waited after " << kWatchdog.count()
      << " s, although the handler served every fault it got";
  EXPECT_EQ(error, "")
      << "the prefetch failed instead of waiting for the handler";
  EXPECT_EQ(handler.faults(), 1)
      << "write-protect faults that reached the handler";
  EXPECT_EQ(handler.first_address(), reinterpret_cast<uint64_t>(region.data()))
      << "the address of the first write-protect fault";
  EXPECT_EQ(FirstMismatch(region.bytes(), 1), std::nullopt)
      << "a prefetch changed the bytes";
}

}  // namespace
}  // namespace ibodp::guest
