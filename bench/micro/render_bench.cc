// bench/micro/render_bench.cc: the cost of rendering one message body (render/render.h), the
// CPU work a `send` or an edit adds before it reaches the store. A typical chat line, a 16 KiB
// document of ordinary Markdown, and every bomb of the hostile corpus (each cut to 16 KiB), so
// the worst case a client can make the server do per message is a measured number.
// Run: build/bench/parley_micro_bench --benchmark_filter=Render
#include <benchmark/benchmark.h>

#include <boost/json.hpp>
#include <fstream>
#include <sstream>
#include <string>

#include "render/render.h"

namespace parley {
namespace {

const render::Renderer& renderer() {
  static const render::Renderer r;
  return r;
}

void render_once(benchmark::State& state, const std::string& body) {
  std::vector<core::Id> ids(render::Limits{}.max_usernames, 42);
  for (auto _ : state) {
    render::Draft d = renderer().render(body);
    std::string html = render::finish(d, ids);
    benchmark::DoNotOptimize(html);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * body.size()));
}

void BM_RenderChatLine(benchmark::State& state) {
  render_once(state, "thanks @alice, the **deploy** went fine :tada: see https://example.com/runs/42");
}
BENCHMARK(BM_RenderChatLine);

void BM_RenderDocument16K(benchmark::State& state) {
  std::string doc;
  while (doc.size() < 16000) {
    doc += "## Notes\n\nSome *emphasis*, **strong**, `code` and a [link](https://example.com). "
           "@bob :+1:\n\n- one\n- two\n  - nested\n\n> quoted text\n\n```\nint x = 1;\n```\n\n"
           "| a | b |\n|---|---|\n| 1 | 2 |\n\n";
  }
  doc.resize(16000);
  render_once(state, doc);
}
BENCHMARK(BM_RenderDocument16K);

// One benchmark per bomb of src/render/testdata/hostile_corpus.json.
int register_bombs() {
  std::ifstream in(PARLEY_RENDER_CORPUS);
  std::stringstream ss;
  ss << in.rdbuf();
  boost::json::value doc = boost::json::parse(ss.str());
  for (const boost::json::value& v : doc.at("entries").as_array()) {
    const boost::json::object& o = v.as_object();
    if (o.contains("body")) continue;
    auto str = [&](const char* k) {
      const boost::json::value* x = o.if_contains(k);
      return x ? std::string(x->as_string()) : std::string();
    };
    std::string body = str("prefix");
    std::string unit = str("unit");
    for (std::int64_t i = 0; i < o.at("times").to_number<std::int64_t>(); ++i) body += unit;
    body += str("suffix");
    if (body.size() > 16384) body.resize(16384);
    std::string name = "BM_RenderBomb/" + std::string(o.at("name").as_string());
    benchmark::RegisterBenchmark(name.c_str(), [body](benchmark::State& s) { render_once(s, body); });
  }
  return 0;
}
const int kBombs = register_bombs();

}  // namespace
}  // namespace parley
