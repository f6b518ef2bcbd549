// gateway/internal/gathered_socket.h: the TCP socket under a gateway WebSocket, with ONE writer
// shared by Beast (handshake, pongs, pings, the close frame) and the session's data frames,
// which the session encodes itself and writes several at a time in one system call.
//
// Why (decision 0011): a server's WebSocket frames are unmasked, so a text frame is a 2-10 byte
// header followed by the payload, and the payload (the encoded JSON) is shared by every
// recipient of a broadcast. Beast's stream::async_write sends one message per call (one
// sendmsg per frame per session: ~37% of the server's CPU at 24k deliveries/s). The session
// instead gathers up to kMaxGatherFrames queued frames into one write_frames() call. Beast
// still owns reading and the control frames it writes on its own (a pong answering a client's
// ping from inside a read, the close handshake): those reach the socket through this class's
// async_write_some(), which is the only other way bytes get out, so the two can never
// interleave inside a frame:
//   - every Beast write is one complete frame in one net::async_write (Boost 1.81,
//     websocket/impl/{read,ping,close}.hpp), and async_write_some() here writes all of the
//     buffers before completing (a legal write_some), so a Beast frame goes out whole;
//   - while one write (either kind) is in flight, a Beast write waits in `pending_` and runs
//     when it completes, before the session's next data write (Beast writes one frame at a
//     time, so at most one waits);
//   - when the socket falls idle after a Beast write, the owner is told (Owner::on_write_idle)
//     so that frames queued meanwhile go out.
// Beast never sees the data frames, so its writer state stays "between messages" and its
// control frames are valid wherever they land. This requires that permessage-deflate is NOT
// negotiated (data frames would need RSV1 and compression): the gateway does not enable it.
//
// Thread safety: none; everything runs on the connection's strand (the socket's executor).
#pragma once

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/role.hpp>
#include <boost/beast/websocket/teardown.hpp>
#include <boost/system/error_code.hpp>

#include <array>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

namespace parley::gateway {

// Most data frames per write_frames() call: Asio passes at most 64 buffers to one sendmsg
// (detail::buffer_sequence_adapter::max_buffers), and each frame is a header and a payload.
inline constexpr std::size_t kMaxGatherFrames = 32;
// Largest header of an unmasked frame: 2 bytes, 2 more for lengths 126..65535, 8 beyond.
inline constexpr std::size_t kMaxFrameHeaderBytes = 10;

// Writes the header of one unmasked, unfragmented text frame of `payload_size` bytes into
// `out`; returns its length (2, 4 or 10). RFC 6455 section 5.2.
inline std::size_t encode_text_frame_header(std::size_t payload_size,
                                            std::array<std::uint8_t, kMaxFrameHeaderBytes>& out) {
  out[0] = 0x81;  // FIN, opcode 1 (text); RSV bits 0 (no extension)
  if (payload_size < 126) {
    out[1] = static_cast<std::uint8_t>(payload_size);
    return 2;
  }
  if (payload_size <= 0xffff) {
    out[1] = 126;
    out[2] = static_cast<std::uint8_t>(payload_size >> 8);
    out[3] = static_cast<std::uint8_t>(payload_size);
    return 4;
  }
  out[1] = 127;
  const auto n = static_cast<std::uint64_t>(payload_size);
  for (int i = 0; i < 8; ++i) out[2 + i] = static_cast<std::uint8_t>(n >> (56 - 8 * i));
  return 10;
}

template <class Socket>
class GatheredSocket {
 public:
  using executor_type = typename Socket::executor_type;
  using next_layer_type = Socket;
  using Signature = void(boost::system::error_code, std::size_t);

  // Told when the socket becomes free after a Beast write (the owner may have frames waiting).
  class Owner {
   public:
    virtual void on_write_idle() = 0;

   protected:
    ~Owner() = default;
  };

  explicit GatheredSocket(Socket socket) : sock_(std::move(socket)) {}

  executor_type get_executor() noexcept { return sock_.get_executor(); }
  Socket& next_layer() noexcept { return sock_; }
  const Socket& next_layer() const noexcept { return sock_; }

  // REQUIRES: called once, before any write (the owner outlives every write it starts).
  void set_owner(Owner* owner) { owner_ = owner; }

  // True while a write (Beast's or the owner's) is in flight: write_frames() must wait.
  bool writing() const { return writing_; }

  template <class MutableBufferSequence, class ReadToken>
  auto async_read_some(const MutableBufferSequence& buffers, ReadToken&& token) {
    return sock_.async_read_some(buffers, std::forward<ReadToken>(token));
  }

  // Beast's writes. Completes once every byte is written (or with an error).
  template <class ConstBufferSequence, class WriteToken>
  auto async_write_some(const ConstBufferSequence& buffers, WriteToken&& token) {
    return boost::asio::async_initiate<WriteToken, Signature>(
        [this](auto handler, const ConstBufferSequence& b) {
          auto op = std::make_unique<Pending>(std::move(handler));
          for (auto it = boost::asio::buffer_sequence_begin(b); it != boost::asio::buffer_sequence_end(b);
               ++it) {
            op->buffers.emplace_back(*it);
          }
          assert(!pending_ && "Beast writes one frame at a time");
          pending_ = std::move(op);
          if (!writing_) start_pending();
        },
        token, buffers);
  }

  // The owner's gathered data frames (complete frames, headers included). The buffers must stay
  // valid until `handler(ec, bytes)` runs. REQUIRES: !writing().
  template <class Handler>
  void write_frames(std::span<const boost::asio::const_buffer> buffers, Handler handler) {
    assert(!writing_);
    writing_ = true;
    boost::asio::async_write(
        sock_, buffers,
        [this, handler = std::move(handler)](boost::system::error_code ec, std::size_t n) mutable {
          writing_ = false;
          // A Beast frame that waited goes first; the owner's handler sees writing() and leaves
          // its next data write to on_write_idle().
          if (pending_) start_pending();
          handler(ec, n);
        });
  }

 private:
  struct Pending {
    // Constructed in place: Boost 1.81's any_completion_handler move assignment recurses
    // forever (it copies from an lvalue through its converting constructor).
    template <class Handler>
    explicit Pending(Handler&& h) : handler(std::forward<Handler>(h)) {}
    std::vector<boost::asio::const_buffer> buffers;
    boost::asio::any_completion_handler<Signature> handler;
  };

  void start_pending() {
    writing_ = true;
    std::unique_ptr<Pending> op = std::move(pending_);
    const auto& bufs = op->buffers;
    boost::asio::async_write(sock_, bufs,
                             [this, op = std::move(op)](boost::system::error_code ec, std::size_t n) mutable {
                               writing_ = false;
                               auto handler = std::move(op->handler);
                               op.reset();
                               std::move(handler)(ec, n);
                               if (!writing_ && owner_) owner_->on_write_idle();
                             });
  }

  Socket sock_;
  std::unique_ptr<Pending> pending_;  // a Beast write waiting for the socket
  Owner* owner_ = nullptr;
  bool writing_ = false;
};

// Beast's teardown after the close handshake: the socket's own (shut down, drain, close).
template <class Socket>
void teardown(boost::beast::role_type role, GatheredSocket<Socket>& s, boost::system::error_code& ec) {
  using boost::beast::websocket::teardown;
  teardown(role, s.next_layer(), ec);
}

template <class Socket, class TeardownHandler>
void async_teardown(boost::beast::role_type role, GatheredSocket<Socket>& s, TeardownHandler&& handler) {
  using boost::beast::websocket::async_teardown;
  async_teardown(role, s.next_layer(), std::forward<TeardownHandler>(handler));
}

}  // namespace parley::gateway
