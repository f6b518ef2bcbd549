// Tests for gateway/internal/gathered_socket.h: frame headers, and gathered data frames sharing
// one socket with Beast's own control frames (pongs, the close handshake) over real TCP, with
// socket buffers small enough that writes complete in pieces.
#include "gateway/internal/gathered_socket.h"

#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>

#include <string>
#include <vector>

namespace parley::gateway {
namespace {

namespace asio = boost::asio;
namespace websocket = boost::beast::websocket;
using tcp = asio::ip::tcp;

TEST(FrameHeader, LengthEncodings) {
  std::array<std::uint8_t, kMaxFrameHeaderBytes> h{};
  ASSERT_EQ(encode_text_frame_header(0, h), 2u);
  EXPECT_EQ(h[0], 0x81);
  EXPECT_EQ(h[1], 0);
  ASSERT_EQ(encode_text_frame_header(125, h), 2u);
  EXPECT_EQ(h[1], 125);
  ASSERT_EQ(encode_text_frame_header(126, h), 4u);
  EXPECT_EQ(h[1], 126);
  EXPECT_EQ(h[2], 0);
  EXPECT_EQ(h[3], 126);
  ASSERT_EQ(encode_text_frame_header(65535, h), 4u);
  EXPECT_EQ(h[2], 0xff);
  EXPECT_EQ(h[3], 0xff);
  ASSERT_EQ(encode_text_frame_header(65536, h), 10u);
  EXPECT_EQ(h[1], 127);
  for (int i = 2; i < 10; ++i) EXPECT_EQ(h[i], i == 7 ? 1 : 0) << i;
}

std::string payload(int i) {
  // Sizes cycle through the three header forms (7-bit, 16-bit and 64-bit lengths).
  const std::size_t sizes[] = {3, 125, 126, 700, 70000};
  std::string s = "#" + std::to_string(i) + ":";
  s.resize(sizes[i % 5], static_cast<char>('a' + i % 26));
  return s;
}

// The server side: queues `count` frames and writes them the way the gateway session does
// (up to kMaxGatherFrames per write, resuming after Beast's writes through on_write_idle).
class Writer : public GatheredSocket<tcp::socket>::Owner {
 public:
  explicit Writer(websocket::stream<GatheredSocket<tcp::socket>>& ws, int count) : ws_(ws), count_(count) {
    ws_.next_layer().set_owner(this);
    for (int i = 0; i < count_; ++i) payloads_.push_back(payload(i));
  }

  void start() {
    if (!writing_ && !ws_.next_layer().writing()) write_next();
  }
  void on_write_idle() override { start(); }
  int written() const { return next_; }
  int batches() const { return batches_; }

 private:
  void write_next() {
    if (next_ == count_) return;
    const int n = std::min<int>(kMaxGatherFrames, count_ - next_);
    bufs_.clear();
    for (int i = 0; i < n; ++i) {
      const std::string& p = payloads_[static_cast<std::size_t>(next_ + i)];
      const std::size_t h = encode_text_frame_header(p.size(), headers_[static_cast<std::size_t>(i)]);
      bufs_.emplace_back(headers_[static_cast<std::size_t>(i)].data(), h);
      bufs_.emplace_back(p.data(), p.size());
    }
    writing_ = true;
    ++batches_;
    ws_.next_layer().write_frames(bufs_, [this, n](boost::system::error_code ec, std::size_t) {
      writing_ = false;
      ASSERT_FALSE(ec) << ec.message();
      next_ += n;
      start();
    });
  }

  websocket::stream<GatheredSocket<tcp::socket>>& ws_;
  int count_;
  int next_ = 0;
  int batches_ = 0;
  bool writing_ = false;
  std::vector<std::string> payloads_;
  std::array<std::array<std::uint8_t, kMaxFrameHeaderBytes>, kMaxGatherFrames> headers_{};
  std::vector<asio::const_buffer> bufs_;
};

TEST(GatheredSocket, DataFramesAndBeastControlFramesNeverInterleave) {
  constexpr int kFrames = 2000;
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const auto endpoint = acceptor.local_endpoint();

  websocket::stream<GatheredSocket<tcp::socket>> server(tcp::socket(io.get_executor()));
  Writer writer(server, kFrames);
  boost::system::error_code server_read_end;
  int received = 0;
  int pings = 0;
  int pongs = 0;
  bool client_done = false;

  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        co_await acceptor.async_accept(server.next_layer().next_layer(), asio::use_awaitable);
        server.next_layer().next_layer().set_option(asio::socket_base::send_buffer_size(4096));
        co_await server.async_accept(asio::use_awaitable);
        writer.start();
        // Reading answers the client's pings (Beast writes the pong) and the close handshake.
        boost::beast::flat_buffer buf;
        auto [ec, n] = co_await server.async_read(buf, asio::as_tuple(asio::use_awaitable));
        server_read_end = ec;
      },
      asio::detached);

  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        websocket::stream<tcp::socket> client(io);
        client.next_layer().open(tcp::v4());
        client.next_layer().set_option(asio::socket_base::receive_buffer_size(4096));
        co_await client.next_layer().async_connect(endpoint, asio::use_awaitable);
        co_await client.async_handshake("127.0.0.1", "/", asio::use_awaitable);
        client.read_message_max(1 << 20);
        client.control_callback([&](websocket::frame_type kind, boost::beast::string_view) {
          if (kind == websocket::frame_type::pong) ++pongs;
        });
        bool ping_in_flight = false;
        for (int i = 0; i < kFrames; ++i) {
          boost::beast::flat_buffer buf;
          auto [ec, n] = co_await client.async_read(buf, asio::as_tuple(asio::use_awaitable));
          if (ec) {
            ADD_FAILURE() << "frame " << i << ": " << ec.message();
            co_return;
          }
          EXPECT_TRUE(client.got_text());
          EXPECT_EQ(boost::beast::buffers_to_string(buf.data()), payload(i)) << i;
          ++received;
          // Pings while data is still coming (Beast ignores pongs once the client sent its close).
          if (i % 7 == 0 && i < kFrames - 200 && !ping_in_flight) {
            ping_in_flight = true;
            ++pings;
            client.async_ping({}, [&](boost::system::error_code) { ping_in_flight = false; });
          }
        }
        co_await client.async_close(websocket::close_code::normal, asio::use_awaitable);
        client_done = true;
      },
      asio::detached);

  io.run_for(std::chrono::seconds(30));
  EXPECT_TRUE(client_done);
  EXPECT_EQ(received, kFrames);
  EXPECT_EQ(writer.written(), kFrames);
  EXPECT_LT(writer.batches(), kFrames / 4);  // gathered, not one write per frame
  EXPECT_GT(pings, 100);
  EXPECT_EQ(server_read_end, websocket::error::closed);
  EXPECT_EQ(pongs, pings);  // every ping answered, between data frames or before the close
}

}  // namespace
}  // namespace parley::gateway
