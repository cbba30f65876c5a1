// examples/hello_server.cpp: the README's first server, verbatim (a test keeps them equal).
#include <snow/snow.hpp>

int main() {
    snow::http::server app;
    app.get("/", [](const snow::http::request&) { return snow::http::text("hi\n"); });
    return app.run({.port = 8080});
}
