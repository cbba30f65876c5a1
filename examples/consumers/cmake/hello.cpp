// examples/consumers/cmake/hello.cpp: snow used from another project.
// It serves "hi" on 127.0.0.1 at a port the kernel picks, fetches it once with snow's
// client, prints the body and exits 0. Every consumer folder holds the same program (only
// this first line differs; scripts/check-consumers.sh compares them), so each folder can be
// copied on its own.
#include <cstdio>
#include <string>
#include <utility>

#include <snow/snow.hpp>

namespace {

snow::task<int> serve(snow::http::server& app, snow::net::tcp_listener listener) {
    co_await app.serve(std::move(listener));
    co_return 0;
}

// Fetches once, then stops the server: serve() returns once the server has drained.
snow::task<int> fetch_once(snow::http::server& app, std::string url) {
    int status = 1;
    {
        snow::http::client http; // closed before stop(), so the server has nothing to wait for
        auto r = co_await http.get(std::move(url));
        if (r) {
            std::printf("%s\n", r->body.c_str());
            status = 0;
        } else {
            std::fprintf(stderr, "hello: %s\n", r.error().message().c_str());
        }
    }
    app.stop();
    co_return status;
}

snow::task<int> hello() {
    snow::http::server app;
    app.get("/", [](const snow::http::request&) { return snow::http::text("hi"); });
    // Port 0: the kernel picks a free one, so runs never collide.
    auto listener = snow::net::tcp_listener::bind("127.0.0.1:0");
    if (!listener) {
        std::fprintf(stderr, "hello: cannot listen: %s\n", listener.error().message().c_str());
        co_return 1;
    }
    const std::string url =
        "http://127.0.0.1:" + std::to_string(listener->local_address().port()) + "/";
    // Both on this thread's loop: the server waits for connections while the client fetches.
    auto done = co_await snow::when_all(serve(app, std::move(*listener)), fetch_once(app, url));
    co_return std::get<0>(done) + std::get<1>(done);
}

} // namespace

int main() {
    return snow::run_main(hello());
}
