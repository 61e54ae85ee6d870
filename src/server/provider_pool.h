// ProviderPool: persistent instances of one provider capsule (docs/providers.md), kept running
// and reused, so a namespace operation costs one line each way instead of a process start.
//
// The pool starts `size` instances of the provider through the InstanceManager (so they are
// sandboxed, audited and listed like every capsule) and hands each request to an idle one; a
// caller with no idle instance waits. The runtime trusts a provider with nothing but the
// operation at hand: the response line is capped at 1 MiB, must be a well-formed envelope
// answering the request's id, and is otherwise passed through. An instance that answers out of
// step, with garbage, or not at all within `timeout` is killed and replaced; its caller gets
// unavailable/`provider_unavailable`.
//
// Thread-safety: Call may be used from any number of threads at once.
#pragma once

#include <boost/json/object.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/status.h"
#include "server/instances.h"

namespace elastos::server {

struct ProviderPoolOptions {
  std::size_t size = 2;
  std::chrono::milliseconds timeout{30000};
  std::filesystem::path data_dir;  // the provider's /data
};

class ProviderPool {
 public:
  // Starts the instances. `source` is the provider capsule; every instance runs it as a system
  // capsule (no wall or CPU limit).
  static Result<std::unique_ptr<ProviderPool>> Start(InstanceManager& instances, CapsuleSource source,
                                                     ProviderPoolOptions options);
  ~ProviderPool();  // Stop()

  // Sends `request` (a provider_request or ping object, without envelope) and returns the
  // response object. Errors: unavailable/`provider_unavailable`, unavailable/`runtime_stopping`.
  Result<boost::json::object> Call(const boost::json::object& request);
  // Closes every instance's request pipe (providers exit on end of stream) and waits for them.
  void Stop();

  std::size_t size() const;

 private:
  struct Worker;
  explicit ProviderPool(InstanceManager& instances, CapsuleSource source, ProviderPoolOptions options);
  Result<std::shared_ptr<Worker>> Spawn();
  std::shared_ptr<Worker> Acquire();
  void Release(std::shared_ptr<Worker> w, bool healthy);

  InstanceManager& instances_;
  CapsuleSource source_;
  ProviderPoolOptions options_;
  mutable std::mutex mu_;
  std::condition_variable idle_cv_;
  std::deque<std::shared_ptr<Worker>> idle_;
  std::vector<std::shared_ptr<Worker>> all_;
  bool stopping_ = false;
};

}  // namespace elastos::server
