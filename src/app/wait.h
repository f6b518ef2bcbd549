// app/wait.h: calls an asynchronous (callback) operation and waits for its result. For the CLI
// and start-up only: never on a network thread.
#pragma once

#include <future>
#include <utility>

#include "core/result.h"

namespace parley::app {

template <class T, class Start>
core::Result<T> wait_for(Start&& start) {
  auto promise = std::make_shared<std::promise<core::Result<T>>>();
  auto future = promise->get_future();
  start([promise](core::Result<T> r) { promise->set_value(std::move(r)); });
  return future.get();
}

}  // namespace parley::app
