#include "server/provider_pool.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>

#include "common/file_util.h"

namespace elastos::server {
namespace json = boost::json;

namespace {

constexpr std::size_t kMaxLine = 1 << 20;

Status ProviderUnavailable(const std::string& why) {
  return Unavailable("provider_unavailable", "the provider failed: " + why);
}

}  // namespace

struct ProviderPool::Worker {
  std::string instance_id;
  int to_guest = -1;    // requests (guest fd 4)
  int from_guest = -1;  // responses (guest fd 5)
  std::string pending;  // bytes read past the last line
  std::uint64_t next_id = 1;
  ~Worker() {
    if (to_guest >= 0) ::close(to_guest);
    if (from_guest >= 0) ::close(from_guest);
  }
};

ProviderPool::ProviderPool(InstanceManager& instances, CapsuleSource source,
                           ProviderPoolOptions options)
    : instances_(instances), source_(std::move(source)), options_(std::move(options)) {}

Result<std::unique_ptr<ProviderPool>> ProviderPool::Start(InstanceManager& instances,
                                                          CapsuleSource source,
                                                          ProviderPoolOptions options) {
  std::unique_ptr<ProviderPool> pool(new ProviderPool(instances, std::move(source), std::move(options)));
  for (std::size_t i = 0; i < std::max<std::size_t>(1, pool->options_.size); ++i) {
    ELASTOS_ASSIGN_OR_RETURN(std::shared_ptr<Worker> w, pool->Spawn());
    std::lock_guard<std::mutex> lock(pool->mu_);
    pool->all_.push_back(w);
    pool->idle_.push_back(w);
  }
  return pool;
}

ProviderPool::~ProviderPool() { Stop(); }

std::size_t ProviderPool::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return all_.size();
}

Result<std::shared_ptr<ProviderPool::Worker>> ProviderPool::Spawn() {
  auto w = std::make_shared<Worker>();
  LaunchRequest lr;
  lr.source = source_;
  lr.role = InstanceRole::kProvider;
  lr.system = true;
  lr.tier = "aot";
  lr.data_dir = options_.data_dir;
  lr.env = {"ELASTOS_PROVIDER_FDS=4,5"};
  lr.launched_by = "runtime";
  // Our own copies of the pipe ends: the instance closes its own when it exits, and a descriptor
  // number reused by then must not be read as this provider's.
  lr.attach = [w](compute::Instance& inst) {
    w->to_guest = ::fcntl(inst.responses_fd(), F_DUPFD_CLOEXEC, 3);
    w->from_guest = ::fcntl(inst.requests_fd(), F_DUPFD_CLOEXEC, 3);
  };
  ELASTOS_ASSIGN_OR_RETURN(InstanceInfo info, instances_.Launch(std::move(lr)));
  w->instance_id = info.id;
  if (w->to_guest < 0 || w->from_guest < 0) {
    instances_.Stop(info.id, "runtime").IgnoreError();
    return IoError("duplicate provider pipes", errno);
  }
  return w;
}

std::shared_ptr<ProviderPool::Worker> ProviderPool::Acquire() {
  std::unique_lock<std::mutex> lock(mu_);
  idle_cv_.wait(lock, [&] { return stopping_ || !idle_.empty(); });
  if (stopping_) return nullptr;
  std::shared_ptr<Worker> w = idle_.front();
  idle_.pop_front();
  return w;
}

void ProviderPool::Release(std::shared_ptr<Worker> w, bool healthy) {
  if (healthy) {
    std::lock_guard<std::mutex> lock(mu_);
    idle_.push_back(std::move(w));
    idle_cv_.notify_one();
    return;
  }
  // Replace the broken instance: kill it, start a fresh one in its place.
  instances_.Stop(w->instance_id, "runtime: provider misbehaved").IgnoreError();
  Result<std::shared_ptr<Worker>> fresh = Spawn();
  std::lock_guard<std::mutex> lock(mu_);
  std::erase(all_, w);
  if (fresh.ok()) {
    all_.push_back(*fresh);
    idle_.push_back(*fresh);
  }
  idle_cv_.notify_one();
}

Result<json::object> ProviderPool::Call(const json::object& request) {
  std::shared_ptr<Worker> w = Acquire();
  if (!w) return Unavailable("runtime_stopping", "the runtime is shutting down");
  const std::uint64_t id = w->next_id++;
  std::string line = json::serialize(json::object{{"id", id}, {"request", request}});
  line.push_back('\n');
  if (line.size() > kMaxLine + 1) {
    Release(w, true);
    return ResourceExhausted("payload_too_large", "the request does not fit in one provider line");
  }
  auto fail = [&](const std::string& why) -> Status {
    Release(w, false);
    return ProviderUnavailable(why);
  };
  if (Status s = WriteAll(w->to_guest, AsBytes(line), "provider"); !s.ok()) {
    return fail(s.message());
  }
  const auto deadline = std::chrono::steady_clock::now() + options_.timeout;
  std::size_t newline;
  char buf[64 << 10];
  while ((newline = w->pending.find('\n')) == std::string::npos) {
    if (w->pending.size() > kMaxLine) return fail("its response line exceeded 1 MiB");
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return fail("no response within " + std::to_string(options_.timeout.count()) + " ms");
    pollfd p{w->from_guest, POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;
    const ssize_t n = ::read(w->from_guest, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail("it closed its response stream");
    w->pending.append(buf, static_cast<std::size_t>(n));
  }
  const std::string text = w->pending.substr(0, newline);
  w->pending.erase(0, newline + 1);
  std::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return fail("its response is not a JSON object");
  const json::object& env = v.as_object();
  const json::value* rid = env.if_contains("id");
  const json::value* response = env.if_contains("response");
  if (env.size() != 2 || rid == nullptr || !rid->is_number() || response == nullptr ||
      !response->is_object()) {
    return fail("its response is not an envelope");
  }
  const bool same_id = (rid->is_uint64() && rid->as_uint64() == id) ||
                       (rid->is_int64() && rid->as_int64() == static_cast<std::int64_t>(id));
  if (!same_id) return fail("it answered another request (id out of step)");
  const json::object& out = response->as_object();
  const json::value* type = out.if_contains("type");
  if (type == nullptr || !type->is_string()) return fail("its response has no type");
  json::object result = out;
  Release(w, true);
  return result;
}

void ProviderPool::Stop() {
  std::vector<std::shared_ptr<Worker>> all;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    all = all_;
    idle_cv_.notify_all();
  }
  for (const auto& w : all) instances_.Stop(w->instance_id, "runtime shutdown").IgnoreError();
}

}  // namespace elastos::server
