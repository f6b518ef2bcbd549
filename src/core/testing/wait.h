// core/testing/wait.h: for tests only (includes GoogleTest). Calls an asynchronous (callback)
// operation and waits for its core::Result; a callback that never comes fails the test instead
// of hanging it.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <memory>
#include <utility>

#include "core/result.h"

namespace parley::test {

template <class T, class Start>
core::Result<T> wait(Start&& start, std::chrono::seconds timeout = std::chrono::seconds(20)) {
  auto p = std::make_shared<std::promise<core::Result<T>>>();
  auto f = p->get_future();
  start([p](core::Result<T> r) { p->set_value(std::move(r)); });
  if (f.wait_for(timeout) != std::future_status::ready) {
    ADD_FAILURE() << "callback never called";
    return core::make_error(core::Errc::kInternal, "timeout");
  }
  return f.get();
}

}  // namespace parley::test
