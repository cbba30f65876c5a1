// examples/hello_client.cpp: the README's first client, verbatim (a test keeps them equal).
#include <snow/snow.hpp>

snow::task<int> fetch() {
    snow::http::client http;
    auto r = co_await http.get("http://localhost:8080/");
    std::fputs(r ? r->body.c_str() : (r.error().message() + "\n").c_str(), stdout);
    co_return r ? 0 : 1;
}

int main() {
    return snow::run_main(fetch());
}
