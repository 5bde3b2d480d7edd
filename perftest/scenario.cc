// Copyright 2026 The ibodp Authors
// SPDX-License-Identifier: Apache-2.0
#include "scenario.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cctype>
#include <charconv>
#include <functional>
#include <iomanip>
#include <limits>
#include <map>
#include <optional>
#include <sstream>
#include <utility>

#include "background.h"
#include "ibodp/error.h"
#include "ibodp/events.h"

namespace perftest {
namespace {

constexpr std::array<std::pair<Op, std::string_view>, 4> kOpNames = {{
    {Op::kRead, "read"},
    {Op::kWrite, "write"},
    {Op::kSend, "send"},
    {Op::kFetchAdd, "fetch-add"},
}};

constexpr std::array<std::pair<Registration, std::string_view>, 3>
    kRegistrationNames = {{
        {Registration::kOdp, "odp"},
        {Registration::kPinned, "pinned"},
        {Registration::kOdpPrefetch, "odp-prefetch"},
    }};

constexpr uint64_t kKiB = uint64_t{1} << 10;
constexpr uint64_t kMiB = uint64_t{1} << 20;
constexpr uint64_t kGiB = uint64_t{1} << 30;

constexpr std::string_view kSizeHelp =
    "expected a positive size in bytes with an optional binary suffix K, M, "
    "G or T (or KiB, MiB, GiB, TiB), e.g. 64,4K,1GiB";
constexpr std::string_view kCountHelp =
    "expected a positive decimal integer, e.g. 1,10,100";

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) {
    out += (out.empty() ? "" : ", ") + item;
  }
  return out;
}

// An enum's names table: the names joined for an error message, a value's
// name, and the value of a name.
template <typename E, size_t N>
std::string KnownNames(const std::array<std::pair<E, std::string_view>, N>& t) {
  std::vector<std::string> names;
  names.reserve(N);
  for (const auto& entry : t) {
    names.emplace_back(entry.second);
  }
  return Join(names);
}

template <typename E, size_t N>
std::string_view NameIn(const std::array<std::pair<E, std::string_view>, N>& t,
                        E value, std::string_view what) {
  for (const auto& [known, name] : t) {
    if (known == value) {
      return name;
    }
  }
  throw ibodp::Error("unknown " + std::string(what) + " #" +
                     std::to_string(static_cast<int>(value)));
}

template <typename E, size_t N>
E ValueIn(const std::array<std::pair<E, std::string_view>, N>& t,
          std::string_view name, std::string_view what) {
  for (const auto& [value, known] : t) {
    if (known == name) {
      return value;
    }
  }
  throw ibodp::Error("unknown " + std::string(what) + " '" + std::string(name) +
                     "'; known " + std::string(what) + "s: " + KnownNames(t));
}

std::string KnownOps() { return KnownNames(kOpNames); }

[[noreturn]] void ThrowBadValue(std::string_view flag, std::string_view item,
                                std::string_view why) {
  throw ibodp::Error(std::string(flag) + ": bad value '" + std::string(item) +
                     "': " + std::string(why));
}

std::string_view Trim(std::string_view s) {
  const auto is_space = [](char c) {
    return std::isspace(static_cast<unsigned char>(c)) != 0;
  };
  while (!s.empty() && is_space(s.front())) {
    s.remove_prefix(1);
  }
  while (!s.empty() && is_space(s.back())) {
    s.remove_suffix(1);
  }
  return s;
}

// The comma-separated, trimmed items of `text`; throws on an empty list or
// an empty item.
std::vector<std::string_view> SplitList(std::string_view flag,
                                        std::string_view text) {
  if (Trim(text).empty()) {
    throw ibodp::Error(std::string(flag) +
                       " is empty: give at least one value");
  }
  std::vector<std::string_view> items;
  size_t start = 0;
  while (true) {
    const size_t comma = text.find(',', start);
    const std::string_view item = Trim(text.substr(start, comma - start));
    if (item.empty()) {
      throw ibodp::Error(std::string(flag) + ": empty value in '" +
                         std::string(text) +
                         "': separate the values with single commas");
    }
    items.push_back(item);
    if (comma == std::string_view::npos) {
      return items;
    }
    start = comma + 1;
  }
}

// Throws when `values` holds a value twice; `show` formats it.
template <typename T, typename Show>
void RequireUnique(std::string_view flag, const std::vector<T>& values,
                   Show show) {
  for (size_t i = 0; i < values.size(); ++i) {
    if (std::find(values.begin() + static_cast<std::ptrdiff_t>(i) + 1,
                  values.end(), values[i]) != values.end()) {
      throw ibodp::Error(std::string(flag) + " lists " + show(values[i]) +
                         " twice: list each value once");
    }
  }
}

// Parses the leading decimal digits of `item` into `value`; returns how
// many characters it used (0 when `item` does not start with a digit).
size_t ParseLeadingNumber(std::string_view flag, std::string_view item,
                          uint64_t* value) {
  size_t digits = 0;
  while (digits < item.size() &&
         std::isdigit(static_cast<unsigned char>(item[digits])) != 0) {
    ++digits;
  }
  if (digits == 0) {
    return 0;
  }
  const auto [end, ec] =
      std::from_chars(item.data(), item.data() + digits, *value);
  if (ec != std::errc() || end != item.data() + digits) {
    ThrowBadValue(flag, item, "it does not fit in 64 bits");
  }
  return digits;
}

std::optional<uint64_t> SuffixMultiplier(std::string_view suffix) {
  std::string upper;
  for (const char c : suffix) {
    upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  constexpr std::array<std::string_view, 5> kUnits = {"B", "K", "M", "G", "T"};
  if (upper.empty()) {
    return 1;
  }
  for (size_t i = 0; i < kUnits.size(); ++i) {
    if (upper == kUnits[i] ||
        (i > 0 && upper == std::string(kUnits[i]) + "IB")) {
      return uint64_t{1} << (10 * i);
    }
  }
  return std::nullopt;
}

uint64_t ParseSize(std::string_view flag, std::string_view item) {
  uint64_t number = 0;
  const size_t digits = ParseLeadingNumber(flag, item, &number);
  const std::optional<uint64_t> multiplier =
      SuffixMultiplier(item.substr(digits));
  if (digits == 0 || !multiplier) {
    ThrowBadValue(flag, item, kSizeHelp);
  }
  if (number == 0) {
    ThrowBadValue(flag, item, "a size must be at least 1 byte");
  }
  if (number > std::numeric_limits<uint64_t>::max() / *multiplier) {
    ThrowBadValue(flag, item, "it does not fit in 64 bits");
  }
  return number * *multiplier;
}

uint64_t ParseCount(std::string_view flag, std::string_view item) {
  uint64_t number = 0;
  const size_t digits = ParseLeadingNumber(flag, item, &number);
  if (digits == 0 || digits != item.size()) {
    ThrowBadValue(flag, item, kCountHelp);
  }
  if (number == 0) {
    ThrowBadValue(flag, item, "it must be at least 1");
  }
  return number;
}

std::string CountText(uint64_t n) { return std::to_string(n); }

void RequireAxis(std::string_view flag, size_t size) {
  if (size == 0) {
    throw ibodp::Error(std::string(flag) +
                       " is empty: give at least one value");
  }
}

void RequirePositive(std::string_view flag, const std::vector<uint64_t>& v) {
  if (std::find(v.begin(), v.end(), uint64_t{0}) != v.end()) {
    throw ibodp::Error(std::string(flag) +
                       " has 0: every value must be at least 1");
  }
}

void ValidateAxes(const MatrixSpec& spec) {
  RequireAxis(kFlagOps, spec.ops.size());
  RequireAxis(kFlagMsgSizes, spec.msg_sizes.size());
  RequireAxis(kFlagMrSizes, spec.mr_sizes.size());
  RequireAxis(kFlagPages, spec.pages.size());
  RequireAxis(kFlagEvents, spec.events.size());
  RequireAxis(kFlagPeriods, spec.periods.size());
  RequireAxis(kFlagRegistrations, spec.registrations.size());
  RequireAxis(kFlagBackgrounds, spec.backgrounds.size());
  RequirePositive(kFlagMsgSizes, spec.msg_sizes);
  RequirePositive(kFlagMrSizes, spec.mr_sizes);
  RequirePositive(kFlagPages, spec.pages);
  RequirePositive(kFlagPeriods, spec.periods);
}

bool HasBackground(const MatrixSpec& spec) {
  return std::any_of(spec.backgrounds.begin(), spec.backgrounds.end(),
                     [](const std::string& b) { return b != "none"; });
}

bool HasEvents(const MatrixSpec& spec) {
  return std::find(spec.backgrounds.begin(), spec.backgrounds.end(), "none") !=
         spec.backgrounds.end();
}

void ValidateSettings(const MatrixSpec& spec) {
  if (HasBackground(spec) &&
      (spec.seconds == 0 ||
       spec.seconds >
           std::numeric_limits<uint64_t>::max() / kMaxBackgroundOpsPerSecond)) {
    throw ibodp::Error(std::string(kFlagSeconds) + " " +
                       std::to_string(spec.seconds) +
                       ": a background scenario runs for at least 1 second "
                       "(and less than a lifetime)");
  }
  if (spec.ops_per_repetition == 0) {
    throw ibodp::Error(std::string(kFlagIterations) +
                       " is 0: measure at least 1 operation per repetition");
  }
  if (spec.repetitions == 0) {
    throw ibodp::Error(std::string(kFlagRepetitions) +
                       " is 0: run at least 1 repetition");
  }
  if (!std::has_single_bit(spec.page_size)) {
    throw ibodp::Error("page size " + std::to_string(spec.page_size) +
                       " is not a power of two: pass the system's page size");
  }
  for (const uint64_t period : spec.periods) {
    if (period > spec.ops_per_repetition) {
      throw ibodp::Error(
          std::string(kFlagPeriods) + " " + std::to_string(period) +
          " exceeds " + std::string(kFlagIterations) + " " +
          std::to_string(spec.ops_per_repetition) +
          ": the event would never be applied; choose a period of at most " +
          std::to_string(spec.ops_per_repetition));
    }
  }
}

void ValidateMemory(const MatrixSpec& spec) {
  for (const uint64_t mr : spec.mr_sizes) {
    if (mr > spec.memory_limit_bytes) {
      throw ibodp::Error("MR size " + FormatBytes(mr) +
                         " exceeds the memory limit of " +
                         FormatBytes(spec.memory_limit_bytes) + " (" +
                         spec.memory_limit_source + "); choose a smaller " +
                         std::string(kFlagMrSizes));
    }
  }
}

// Throws unless `needed` bytes fit the largest MR size.
void RequireFitsLargestMr(const MatrixSpec& spec, const std::string& what,
                          const std::string& needed, bool fits,
                          std::string_view fix) {
  if (fits) {
    return;
  }
  const uint64_t largest =
      *std::max_element(spec.mr_sizes.begin(), spec.mr_sizes.end());
  throw ibodp::Error(what + " needs " + needed + " of MR but " +
                     std::string(kFlagMrSizes) + " has " +
                     (spec.mr_sizes.size() > 1 ? "at most " : "") +
                     FormatBytes(largest) + "; add a larger " +
                     std::string(kFlagMrSizes) + " or " + std::string(fix));
}

// Whether the event can act on an MR of `mr_size` bytes: the THP events
// need whole huge pages.
bool EventFits(const std::string& event, uint64_t mr_size) {
  return !ibodp::MakeEvent(event)->NeedsHugePages() ||
         (mr_size >= ibodp::kHugePageBytes &&
          mr_size % ibodp::kHugePageBytes == 0);
}

bool PagesFit(const MatrixSpec& spec, uint64_t pages, uint64_t mr) {
  return pages <= mr / spec.page_size;
}

std::string PagesBytes(const MatrixSpec& spec, uint64_t pages) {
  if (pages > std::numeric_limits<uint64_t>::max() / spec.page_size) {
    return "more than " + FormatBytes(std::numeric_limits<uint64_t>::max());
  }
  return FormatBytes(pages * spec.page_size);
}

std::vector<uint64_t> MessageSizes(const MatrixSpec& spec, Op op) {
  if (op == Op::kFetchAdd) {
    return {kAtomicSize};
  }
  return spec.msg_sizes;
}

// Every message size and page count must fit at least the largest MR.
void ValidateFit(const MatrixSpec& spec) {
  const uint64_t largest =
      *std::max_element(spec.mr_sizes.begin(), spec.mr_sizes.end());
  for (const Op op : spec.ops) {
    for (const uint64_t msg : MessageSizes(spec, op)) {
      const std::string what =
          op == Op::kFetchAdd
              ? std::string(kFlagOps) + " fetch-add (atomics are 8 bytes)"
              : std::string(kFlagMsgSizes) + " " + FormatBytes(msg);
      RequireFitsLargestMr(spec, what, FormatBytes(msg), msg <= largest,
                           "a smaller " + std::string(kFlagMsgSizes));
    }
  }
  for (const std::string& event : spec.events) {
    if (std::none_of(spec.mr_sizes.begin(), spec.mr_sizes.end(),
                     [&](uint64_t mr) { return EventFits(event, mr); })) {
      const std::string huge = FormatBytes(ibodp::kHugePageBytes);
      std::string msg = "event " + event;
      msg += " needs an MR of whole " + huge + " huge pages but no ";
      msg += std::string(kFlagMrSizes) + " is a multiple of " + huge;
      msg += "; add one (e.g. " + std::string(kFlagMrSizes) + "=2M)";
      msg += " or leave the event out";
      throw ibodp::Error(msg);
    }
  }
  for (const uint64_t pages : spec.pages) {
    RequireFitsLargestMr(
        spec, std::string(kFlagPages) + " " + std::to_string(pages),
        PagesBytes(spec, pages), PagesFit(spec, pages, largest),
        "a smaller " + std::string(kFlagPages));
  }
}

// "read/msg=4096/mr=1048576/pages=16": a point of the matrix before its
// event and period (Scenario::Name() adds them).
std::string PointName(const Scenario& point) {
  std::string name(OpName(point.op));
  name += "/msg=" + std::to_string(point.msg_size);
  name += "/mr=" + std::to_string(point.mr_size);
  name += "/pages=" + std::to_string(point.pages);
  return name;
}

// Why `point` cannot run, or nothing when it can.
std::optional<std::string> Misfit(const MatrixSpec& spec,
                                  const Scenario& point) {
  const std::string where = PointName(point) + ": ";
  if (point.msg_size > point.mr_size) {
    return where + "the " + FormatBytes(point.msg_size) +
           " message does not fit the " + FormatBytes(point.mr_size) + " MR";
  }
  if (!PagesFit(spec, point.pages, point.mr_size)) {
    return where + std::to_string(point.pages) + " pages (" +
           PagesBytes(spec, point.pages) + ") do not fit the " +
           FormatBytes(point.mr_size) + " MR";
  }
  return std::nullopt;
}

void AppendBackgrounds(const MatrixSpec& spec, Scenario point,
                       std::vector<Scenario>* out,
                       std::vector<std::string>* skipped) {
  point.event = "none";
  point.period = 1;
  point.seconds = spec.seconds;
  point.ops = spec.seconds * kMaxBackgroundOpsPerSecond;
  for (const std::string& background : spec.backgrounds) {
    if (background == "none") {
      continue;
    }
    const std::unique_ptr<Background> made = MakeBackground(background);
    for (const Registration registration : spec.registrations) {
      point.background = background;
      point.registration = registration;
      std::string why;
      if (registration == Registration::kPinned && made->NeedsFile()) {
        why = "the kernel refuses a long-term pin of a MAP_SHARED file";
      } else if (registration == Registration::kPinned &&
                 !made->ActsOnPinnedPages()) {
        why = "background " + background + " leaves pages pinned for DMA alone";
      } else if (registration == Registration::kOdpPrefetch) {
        why = "no event that perftest knows of to prefetch after";
      }
      if (!why.empty()) {
        if (skipped != nullptr) {
          skipped->push_back(point.Name() + ": " + why);
        }
        continue;
      }
      out->push_back(point);
    }
  }
}

void AppendEventsAndPeriods(const MatrixSpec& spec, Scenario point,
                            std::vector<Scenario>* out,
                            std::vector<std::string>* skipped) {
  for (const std::string& event : spec.events) {
    if (!EventFits(event, point.mr_size)) {
      if (skipped != nullptr) {
        skipped->push_back(PointName(point) + "/event=" + event +
                           ": the event needs an MR of whole " +
                           FormatBytes(ibodp::kHugePageBytes) + " huge pages");
      }
      continue;
    }
    const bool acts_on_pinned = ibodp::MakeEvent(event)->ActsOnPinnedPages();
    for (const uint64_t period : spec.periods) {
      for (const Registration registration : spec.registrations) {
        point.event = event;
        point.period = period;
        point.registration = registration;
        if (registration == Registration::kPinned && !acts_on_pinned) {
          if (skipped != nullptr) {
            skipped->push_back(
                point.Name() + ": event " + event +
                " moves, reclaims, merges or writes back the pages, which a "
                "pinned MR holds where they are (or cannot pin)");
          }
          continue;
        }
        out->push_back(point);
      }
    }
  }
}

// The point `name` gives (see ParsePoints).
Scenario ParsePoint(std::string_view flag, std::string_view name) {
  const std::string where = std::string(flag) + " '" + std::string(name) + "'";
  const std::string form =
      "; give a scenario's name as perftest --dry_run prints it, e.g. "
      "write/msg=1048576/mr=67108864/pages=1/event=madvise-dontneed/"
      "period=1";
  std::map<std::string, std::string, std::less<>> fields;
  size_t start = name.find('/');
  if (start == std::string_view::npos) {
    throw ibodp::Error(where + ": no /field=value parts" + form);
  }
  Scenario s;
  try {
    s.op = OpFromName(name.substr(0, start));
  } catch (const ibodp::Error& e) {
    throw ibodp::Error(where + ": " + e.what());
  }
  while (start != std::string_view::npos) {
    const size_t end = name.find('/', start + 1);
    const std::string_view part = name.substr(
        start + 1, end == std::string_view::npos ? end : end - start - 1);
    const size_t eq = part.find('=');
    if (eq == std::string_view::npos ||
        !fields.emplace(part.substr(0, eq), part.substr(eq + 1)).second) {
      std::string why = where;
      why += ": bad or repeated part '";
      why += part;
      why += "'";
      why += form;
      throw ibodp::Error(why);
    }
    start = end;
  }
  const auto take = [&](const char* key, bool needed) -> std::string {
    const auto it = fields.find(key);
    if (it == fields.end()) {
      if (needed) {
        throw ibodp::Error(where + ": no " + key + "=" + form);
      }
      return "";
    }
    std::string value = it->second;
    fields.erase(it);
    return value;
  };
  s.msg_size = ParseCount(where + " msg", take("msg", true));
  s.mr_size = ParseCount(where + " mr", take("mr", true));
  s.pages = ParseCount(where + " pages", take("pages", true));
  s.event =
      ParseEvents(where + " event", take("event", true), ibodp::EventNames())
          .front();
  s.period = ParseCount(where + " period", take("period", true));
  if (const std::string bg = take("background", false); !bg.empty()) {
    s.background =
        ParseBackgrounds(where + " background", bg, BackgroundNames()).front();
    s.seconds = ParseCount(where + " seconds", take("seconds", true));
  }
  if (const std::string reg = take("reg", false); !reg.empty()) {
    s.registration = ParseRegistrations(where + " reg", reg).front();
  }
  if (!fields.empty()) {
    throw ibodp::Error(where + ": unknown part '" + fields.begin()->first +
                       "'" + form);
  }
  // One spelling per point: the parts in Name()'s order, no /reg=odp.
  if (s.Name() != name) {
    throw ibodp::Error(where + ": not in the canonical form " + s.Name() +
                       form);
  }
  return s;
}

// Adds spec.points that `out` does not hold, with the spec's settings;
// throws naming a point that cannot run.
void AppendPoints(const MatrixSpec& spec, std::vector<Scenario>* out) {
  for (Scenario point : spec.points) {
    point.ops = point.background == "none"
                    ? spec.ops_per_repetition
                    : point.seconds * kMaxBackgroundOpsPerSecond;
    point.warmup_ops = spec.warmup_ops;
    point.repetitions = spec.repetitions;
    const std::string where = std::string(kFlagPoints) + " " + point.Name();
    if (point.op == Op::kFetchAdd && point.msg_size != kAtomicSize) {
      throw ibodp::Error(where + ": fetch-add moves " +
                         std::to_string(kAtomicSize) +
                         " bytes (msg=" + std::to_string(kAtomicSize) + ")");
    }
    if (point.mr_size > spec.memory_limit_bytes) {
      throw ibodp::Error(where + ": the MR exceeds the memory limit of " +
                         FormatBytes(spec.memory_limit_bytes) + " (" +
                         spec.memory_limit_source + ")");
    }
    if (const auto why = Misfit(spec, point)) {
      throw ibodp::Error(std::string(kFlagPoints) + " " + *why);
    }
    if (!EventFits(point.event, point.mr_size)) {
      throw ibodp::Error(where + ": the event needs an MR of whole " +
                         FormatBytes(ibodp::kHugePageBytes) + " huge pages");
    }
    const auto same = [&](const Scenario& s) {
      return s.Name() == point.Name();
    };
    if (std::none_of(out->begin(), out->end(), same)) {
      out->push_back(point);
    }
  }
}

}  // namespace

std::string_view OpName(Op op) { return NameIn(kOpNames, op, "operation"); }

Op OpFromName(std::string_view name) {
  return ValueIn(kOpNames, name, "operation");
}

std::string_view RegistrationName(Registration registration) {
  return NameIn(kRegistrationNames, registration, "registration");
}

Registration RegistrationFromName(std::string_view name) {
  return ValueIn(kRegistrationNames, name, "registration");
}

std::string Scenario::Name() const {
  std::string name = PointName(*this);
  name += "/event=" + event;
  name += "/period=" + std::to_string(period);
  if (background != "none") {
    name += "/background=" + background;
    name += "/seconds=" + std::to_string(seconds);
  }
  if (registration != Registration::kOdp) {
    name += "/reg=" + std::string(RegistrationName(registration));
  }
  return name;
}

std::vector<uint64_t> ParseSizeList(std::string_view flag,
                                    std::string_view text) {
  std::vector<uint64_t> sizes;
  for (const std::string_view item : SplitList(flag, text)) {
    sizes.push_back(ParseSize(flag, item));
  }
  RequireUnique(flag, sizes, FormatBytes);
  return sizes;
}

std::vector<uint64_t> ParseCountList(std::string_view flag,
                                     std::string_view text) {
  std::vector<uint64_t> counts;
  for (const std::string_view item : SplitList(flag, text)) {
    counts.push_back(ParseCount(flag, item));
  }
  RequireUnique(flag, counts, CountText);
  return counts;
}

std::vector<Op> ParseOps(std::string_view flag, std::string_view text) {
  std::vector<Op> ops;
  for (const std::string_view item : SplitList(flag, text)) {
    const auto it = std::find_if(
        kOpNames.begin(), kOpNames.end(),
        [item](const auto& entry) { return entry.second == item; });
    if (it == kOpNames.end()) {
      throw ibodp::Error(std::string(flag) + ": unknown operation '" +
                         std::string(item) +
                         "'; known operations: " + KnownOps());
    }
    ops.push_back(it->first);
  }
  RequireUnique(flag, ops, [](Op op) { return std::string(OpName(op)); });
  return ops;
}

std::vector<std::string> ParseBackgrounds(
    std::string_view flag, std::string_view text,
    const std::vector<std::string>& known) {
  std::vector<std::string> backgrounds;
  for (const std::string_view item : SplitList(flag, text)) {
    if (std::find(known.begin(), known.end(), item) == known.end()) {
      throw ibodp::Error(std::string(flag) + ": unknown background '" +
                         std::string(item) +
                         "'; known backgrounds: " + Join(known));
    }
    backgrounds.emplace_back(item);
  }
  RequireUnique(flag, backgrounds, [](const std::string& b) { return b; });
  return backgrounds;
}

std::vector<Registration> ParseRegistrations(std::string_view flag,
                                             std::string_view text) {
  std::vector<Registration> registrations;
  for (const std::string_view item : SplitList(flag, text)) {
    try {
      registrations.push_back(RegistrationFromName(item));
    } catch (const ibodp::Error& e) {
      throw ibodp::Error(std::string(flag) + ": " + e.what());
    }
  }
  RequireUnique(flag, registrations, [](Registration r) {
    return std::string(RegistrationName(r));
  });
  return registrations;
}

std::vector<std::string> ParseEvents(std::string_view flag,
                                     std::string_view text,
                                     const std::vector<std::string>& known) {
  std::vector<std::string> events;
  for (const std::string_view item : SplitList(flag, text)) {
    if (std::find(known.begin(), known.end(), item) == known.end()) {
      throw ibodp::Error(std::string(flag) + ": unknown event '" +
                         std::string(item) + "'; known events: " + Join(known));
    }
    events.emplace_back(item);
  }
  RequireUnique(flag, events, [](const std::string& e) { return e; });
  return events;
}

std::vector<Scenario> ParsePoints(std::string_view flag,
                                  std::string_view text) {
  std::vector<Scenario> points;
  for (const std::string_view item : SplitList(flag, text)) {
    points.push_back(ParsePoint(flag, item));
  }
  RequireUnique(flag, points, [](const Scenario& s) { return s.Name(); });
  return points;
}

std::string FormatBytes(uint64_t bytes) {
  constexpr std::array<std::string_view, 7> kUnits = {
      "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  size_t unit = 0;
  while (unit + 1 < kUnits.size() &&
         bytes >= (uint64_t{1} << (10 * (unit + 1)))) {
    ++unit;
  }
  const uint64_t scale = uint64_t{1} << (10 * unit);
  std::ostringstream out;
  if (bytes % scale == 0) {
    out << bytes / scale;
  } else {
    out << std::fixed << std::setprecision(1)
        << static_cast<double>(bytes) / static_cast<double>(scale);
  }
  out << " " << kUnits[unit];
  return out.str();
}

std::vector<Scenario> ExpandMatrix(const MatrixSpec& spec,
                                   std::vector<std::string>* skipped) {
  ValidateAxes(spec);
  ValidateSettings(spec);
  ValidateMemory(spec);
  ValidateFit(spec);
  std::vector<Scenario> scenarios;
  Scenario point;
  point.ops = spec.ops_per_repetition;
  point.warmup_ops = spec.warmup_ops;
  point.repetitions = spec.repetitions;
  for (const Op op : spec.ops) {
    point.op = op;
    for (const uint64_t msg : MessageSizes(spec, op)) {
      point.msg_size = msg;
      for (const uint64_t mr : spec.mr_sizes) {
        point.mr_size = mr;
        for (const uint64_t pages : spec.pages) {
          point.pages = pages;
          if (const auto why = Misfit(spec, point)) {
            if (skipped != nullptr) {
              skipped->push_back(*why);
            }
            continue;
          }
          if (HasEvents(spec)) {
            AppendEventsAndPeriods(spec, point, &scenarios, skipped);
          }
          AppendBackgrounds(spec, point, &scenarios, skipped);
        }
      }
    }
  }
  AppendPoints(spec, &scenarios);
  return scenarios;
}

// The presets' events: every event but the slow ones (SlowPerOp()). Under
// TCG one collapse of a 2 MiB huge page takes 50-350 ms, and a KSM merge
// waits for ksmd's scans, so at period 1 they would add hours to the
// default matrix's 8 and 64 MiB MRs (one per op, of the whole MR). Run
// them alone: --events=thp-collapse,thp-split,ksm --mr-sizes=2M (as odplab
// test's perftest stage does).
std::vector<std::string> PresetEvents() {
  std::vector<std::string> events = ibodp::EventNames();
  std::erase_if(events, [](const std::string& e) {
    return ibodp::MakeEvent(e)->SlowPerOp();
  });
  return events;
}

MatrixSpec QuickPreset() {
  MatrixSpec spec;
  spec.ops = {Op::kRead};
  spec.msg_sizes = {4 * kKiB};
  spec.mr_sizes = {kMiB};
  spec.pages = {16};
  spec.events = {"none", "soft-dirty",       "mprotect-ro",
                 "fork", "madvise-dontneed", "munmap-remap"};
  spec.periods = {1};
  spec.registrations = {Registration::kOdp, Registration::kPinned,
                        Registration::kOdpPrefetch};
  spec.backgrounds = {"none",           "writeback",  "ksm",
                      "numa-balancing", "khugepaged", "memcg-reclaim"};
  spec.seconds = 10;
  spec.ops_per_repetition = 100;
  spec.warmup_ops = 10;
  spec.repetitions = 5;
  return spec;
}

MatrixSpec DefaultPreset() {
  MatrixSpec spec;
  spec.ops = {Op::kRead, Op::kWrite, Op::kSend, Op::kFetchAdd};
  spec.msg_sizes = {4 * kKiB};
  spec.mr_sizes = {kMiB, 8 * kMiB, 64 * kMiB};
  spec.pages = {16};
  spec.events = PresetEvents();
  spec.periods = {1};
  spec.ops_per_repetition = 100;
  spec.warmup_ops = 10;
  spec.repetitions = 5;
  return spec;
}

MatrixSpec FullPreset() {
  MatrixSpec spec;
  spec.ops = {Op::kRead, Op::kWrite, Op::kSend, Op::kFetchAdd};
  spec.msg_sizes = {64, 4 * kKiB, 64 * kKiB, kMiB};
  spec.mr_sizes = {4 * kKiB, kMiB, 64 * kMiB, kGiB};
  spec.pages = {1, 16};
  spec.events = PresetEvents();
  spec.periods = {1, 10, 100};
  spec.ops_per_repetition = 500;
  spec.warmup_ops = 50;
  spec.repetitions = 10;
  return spec;
}

}  // namespace perftest
