#include "http/responder.hpp"

#include <atomic>
#include <utility>

namespace ck::http {

stream_sink::stream_sink(channel c) : channel_(std::make_shared<channel>(std::move(c))) {
}

bool stream_sink::push(std::string chunk) const {
  if (!open()) {
    return false;
  }
  channel_->push(std::move(chunk));
  return true;
}

void stream_sink::close() const {
  if (open()) {
    channel_->close();
  }
}

bool stream_sink::open() const {
  return channel_ && channel_->gone && !channel_->gone->load();
}

struct responder::core {
  core(sink deliver_in, streamer stream_in)
      : deliver(std::move(deliver_in)), start_stream(std::move(stream_in)) {
  }

  core(const core&) = delete;
  core& operator=(const core&) = delete;

  ~core() {
    if (!sent.exchange(true) && deliver) {
      deliver(response::error(500, "internal", "handler dropped the request"));
    }
  }

  sink deliver;
  streamer start_stream;
  // Copies may live on several threads; exactly one send (or the destructor) wins.
  std::atomic<bool> sent{false};
};

responder::responder(sink deliver, streamer start_stream)
    : core_(std::make_shared<core>(std::move(deliver), std::move(start_stream))) {
}

stream_sink responder::stream(response head) const {
  if (!core_ || core_->sent.exchange(true)) {
    return {};
  }
  if (!core_->start_stream) {
    if (core_->deliver) {
      core_->deliver(std::move(head));
    }
    return {};
  }
  head.streamed = true;
  head.body.clear();
  return core_->start_stream(std::move(head));
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
