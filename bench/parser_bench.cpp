// bench/parser_bench.cpp: request-head parser throughput: a browser-like GET, a wrk-like GET, the
// realistic requests of bench/parser_corpus and the valid requests of tests/http/cases, each parsed
// over and over; beside Node's http_parser on the same bytes when the build found it.
//
//   ./build/bench/parser_bench [cases-dir [--each]]
//
// Prints bytes/s and ns per request per input (--each: also per file of tests/http/cases), best of
// five rounds. Each pass parses the head and, for chunked bodies, runs the decoder, reusing one
// parser and one request_head as a connection does, so the steady state allocates nothing. The
// peer does the same work through its callbacks (http_parser_peer.hpp), and its rounds alternate
// with snow's so that a change in the machine's load hits both. Compare runs on the same machine
// only; the snow÷http_parser ratio is the figure to quote.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "snow/http/parser.hpp"

#if SNOW_BENCH_HTTP_PARSER
#include "http_parser_peer.hpp"
#endif

namespace {

using namespace snow::http;
using bench_clock = std::chrono::steady_clock;

// picohttpparser's bench.c request, so numbers can be set side by side.
constexpr std::string_view k_browser_get =
    "GET /wp-content/uploads/2010/03/hello-kitty-darth-vader-pink.jpg HTTP/1.1\r\n"
    "Host: www.kittyhell.com\r\n"
    "User-Agent: Mozilla/5.0 (Macintosh; U; Intel Mac OS X 10_6_3; ja-JP-mac; rv:1.9.2.3) "
    "Gecko/20100401 Firefox/3.6.3 Pathtraq/0.9\r\n"
    "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
    "Accept-Language: ja,en-us;q=0.7,en;q=0.3\r\n"
    "Accept-Encoding: gzip,deflate\r\n"
    "Accept-Charset: Shift_JIS,utf-8;q=0.7,*;q=0.7\r\n"
    "Keep-Alive: 115\r\n"
    "Connection: keep-alive\r\n"
    "Cookie: wp_ozh_wsa_visits=2; wp_ozh_wsa_visit_lasttime=xxxxxxxxxx; "
    "__utma=xxxxxxxxx.xxxxxxxxxx.xxxxxxxxxx.xxxxxxxxxx.xxxxxxxxxx.x; "
    "__utmz=xxxxxxxxx.xxxxxxxxxx.x.x.utmccn=(referral)|utmcsr=reader.livedoor.com|utmcct=/reader/"
    "|utmcmd=referral\r\n"
    "\r\n";

constexpr std::string_view k_wrk_get = "GET / HTTP/1.1\r\nHost: localhost:8080\r\n\r\n";

struct input {
    std::string name;
    std::string bytes;
};

// The *.http files of `dir` whose name starts with `prefix`, by name.
std::vector<input> load_requests(const std::filesystem::path& dir, std::string_view prefix) {
    std::vector<input> inputs;
    std::error_code error;
    for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
        auto name = entry.path().stem().string();
        if (entry.path().extension() != ".http" || !name.starts_with(prefix)) continue;
        std::string bytes(std::filesystem::file_size(entry.path()), '\0');
        std::FILE* file = std::fopen(entry.path().c_str(), "rb");
        if (file == nullptr) continue;
        bytes.resize(std::fread(bytes.data(), 1, bytes.size(), file));
        std::fclose(file);
        inputs.push_back({std::move(name), std::move(bytes)});
    }
    if (error) fmt::print(stderr, "parser_bench: {}: {}\n", dir.string(), error.message());
    std::sort(inputs.begin(), inputs.end(),
              [](const input& a, const input& b) { return a.name < b.name; });
    return inputs;
}

// snow's side: one parser, decoder and head for the whole run, as one connection keeps them.
class snow_side {
public:
    // Parses every message in `bytes` once; returns how many, or 0 if one failed.
    std::size_t parse_all(std::string_view bytes) {
        std::size_t requests = 0;
        while (!bytes.empty()) {
            auto r = parser_.parse(bytes, head_);
            if (!r.complete()) return 0;
            bytes.remove_prefix(r.consumed());
            if (head_.body.kind == body_kind::content_length) {
                bytes.remove_prefix(head_.body.content_length);
            } else if (head_.body.kind == body_kind::chunked) {
                decoder_.reset();
                for (;;) {
                    auto d = decoder_.decode(bytes);
                    bytes.remove_prefix(d.consumed());
                    if (d.complete()) break;
                    if (d.failed() || bytes.empty()) return 0;
                }
            }
            ++requests;
        }
        return requests;
    }

    /// The head of the last message parsed.
    const request_head& head() const noexcept { return head_; }

private:
    request_parser parser_;
    chunked_decoder decoder_;
    request_head head_;
};

struct measurement {
    double seconds = 0;
    std::size_t bytes = 0;
    std::size_t requests = 0;

    double bytes_per_second() const { return static_cast<double>(bytes) / seconds; }
};

// One round: `messages` parsed round robin until `duration` is up.
template <typename Side>
measurement round_of(Side& side, const std::vector<std::string_view>& messages,
                     std::chrono::nanoseconds duration) {
    std::size_t round_bytes = 0;
    for (auto message : messages) round_bytes += message.size();
    measurement m;
    const auto start = bench_clock::now();
    const auto stop = start + duration;
    do {
        // Check the clock once per batch so it does not dominate the small heads.
        for (int i = 0; i < 256; ++i) {
            for (auto message : messages) {
                auto n = side.parse_all(message);
                if (n == 0) {
                    fmt::print(stderr, "parser_bench: an input failed to parse\n");
                    std::exit(1);
                }
                m.requests += n;
            }
            m.bytes += round_bytes;
        }
    } while (bench_clock::now() < stop);
    m.seconds = std::chrono::duration<double>(bench_clock::now() - start).count();
    return m;
}

struct comparison {
    measurement snow;
    std::optional<measurement> peer;
};

// The best of five rounds of `budget` / 5 each, snow's and the peer's alternating: on a shared
// machine the fastest round is the one least disturbed by other work, so it is the most
// repeatable figure.
comparison run(const std::vector<std::string_view>& messages, std::chrono::milliseconds budget) {
    snow_side snow;
#if SNOW_BENCH_HTTP_PARSER
    snow_bench::http_parser_peer peer;
#endif
    comparison best;
    for (int round = 0; round < 5; ++round) {
        auto m = round_of(snow, messages, budget / 5);
        if (round == 0 || m.bytes_per_second() > best.snow.bytes_per_second()) best.snow = m;
#if SNOW_BENCH_HTTP_PARSER
        auto p = round_of(peer, messages, budget / 5);
        if (!best.peer || p.bytes_per_second() > best.peer->bytes_per_second()) best.peer = p;
#endif
    }
    return best;
}

// Whether the peer parses `bytes` whole and reads the last head as snow does (the same target
// and as many fields): it refuses a few that snow accepts, and those are left out of both sides'
// figures, so every row compares the same work.
bool peer_agrees([[maybe_unused]] std::string_view bytes) {
#if SNOW_BENCH_HTTP_PARSER
    snow_bench::http_parser_peer peer;
    snow_side snow;
    const auto messages = peer.parse_all(bytes);
    return messages != 0 && messages == snow.parse_all(bytes) &&
           peer.head().target == snow.head().target &&
           peer.head().fields.size() == snow.head().fields.size();
#else
    return true;
#endif
}

constexpr bool have_peer = SNOW_BENCH_HTTP_PARSER != 0;

void header() {
    if (have_peer)
        fmt::print("{:<48} {:>6} {:>10} {:>8} {:>12} {:>8} {:>7}\n", "input", "bytes", "snow MB/s",
                   "ns/req", "http_parser", "ns/req", "ratio");
    else
        fmt::print("{:<48} {:>6} {:>10} {:>8}\n", "input", "bytes", "snow MB/s", "ns/req");
}

void report(std::string_view name, const comparison& c) {
    auto ns_per_request = [](const measurement& m) {
        return m.seconds * 1e9 / static_cast<double>(m.requests);
    };
    const double bytes_per_request =
        static_cast<double>(c.snow.bytes) / static_cast<double>(c.snow.requests);
    fmt::print("{:<48} {:>6.0f} {:>10.1f} {:>8.1f}", name, bytes_per_request,
               c.snow.bytes_per_second() / 1e6, ns_per_request(c.snow));
    if (c.peer)
        fmt::print(" {:>12.1f} {:>8.1f} {:>7.2f}", c.peer->bytes_per_second() / 1e6,
                   ns_per_request(*c.peer), c.snow.bytes_per_second() / c.peer->bytes_per_second());
    fmt::print("\n");
}

// One row per input of `set`, then their round robin; inputs the peer refuses are left out.
void compare_set(std::string_view label, const std::vector<input>& set, bool each,
                 std::chrono::milliseconds budget) {
    std::vector<std::string_view> all;
    std::vector<std::string_view> refused;
    for (const auto& in : set) {
        if (!peer_agrees(in.bytes)) {
            refused.emplace_back(in.name);
            continue;
        }
        all.emplace_back(in.bytes);
        if (each) report(in.name, run({in.bytes}, budget / 5));
    }
    if (all.empty()) return;
    report(fmt::format("all {} {}", all.size(), label), run(all, budget));
    if (!refused.empty())
        fmt::print("  left out, http_parser refuses or reads them otherwise: {}\n",
                   fmt::join(refused, ", "));
}

} // namespace

int main(int argc, char** argv) {
    const std::filesystem::path cases_dir = argc > 1 ? argv[1] : SNOW_HTTP_CASES;
    const bool each_case = argc > 2 && std::string_view(argv[2]) == "--each";
    using namespace std::chrono_literals;

    header();
    report("browser-like GET (picohttpparser bench.c)", run({k_browser_get}, 1500ms));
    report("wrk-like GET", run({k_wrk_get}, 1500ms));
    compare_set("bench/parser_corpus, round robin", load_requests(SNOW_PARSER_CORPUS, ""), true,
                1500ms);
    compare_set("valid tests/http/cases, round robin", load_requests(cases_dir, "ok-"), each_case,
                1500ms);
    return 0;
}
