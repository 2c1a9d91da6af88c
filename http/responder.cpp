#include "http/responder.hpp"

#include <atomic>
#include <utility>

namespace ck::http {

struct responder::core {
  explicit core(sink deliver_in) : deliver(std::move(deliver_in)) {
  }

  core(const core&) = delete;
  core& operator=(const core&) = delete;

  ~core() {
    if (!sent.exchange(true) && deliver) {
      deliver(response::error(500, "internal", "handler dropped the request"));
    }
  }

  sink deliver;
  // Copies may live on several threads; exactly one send (or the destructor) wins.
  std::atomic<bool> sent{false};
};

responder::responder(sink deliver) : core_(std::make_shared<core>(std::move(deliver))) {
}

void responder::send(response res) const {
  if (core_ && !core_->sent.exchange(true) && core_->deliver) {
    core_->deliver(std::move(res));
  }
}

bool responder::sent() const {
  return core_ && core_->sent.load();
}

}  // namespace ck::http
