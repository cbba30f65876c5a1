// tests/http/server/multipart_test.cpp: multipart_reader over bodies split at every offset: fields
// and files, preamble and epilogue, a closing boundary with no CRLF after it, limits, malformed
// bodies; and a form posted to a streamed() route over loopback.
#include "snow/http/server/multipart_reader.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include <fmt/format.h>

#include "http/support/server_fixture.hpp"

using namespace snow;
using namespace snow::testing;
using http::multipart_limits;
using http::multipart_reader;

TEST_SUITE_BEGIN("http.server");

namespace {

/// A body handed out in the pieces given.
class pieces_reader final : public http::body_reader {
public:
    explicit pieces_reader(std::vector<std::string> pieces) : pieces_(std::move(pieces)) {}
    task<result<std::string_view>> next() override {
        std::string_view piece;
        if (at_ < pieces_.size()) piece = pieces_[at_++];
        finished_ = piece.empty();
        co_return piece;
    }
    bool finished() const noexcept override { return finished_; }

private:
    std::vector<std::string> pieces_;
    std::size_t at_ = 0;
    bool finished_ = false;
};

/// What a form held: "name[filename]=data" for each part, or the error.
struct form_outcome {
    std::vector<std::string> parts;
    std::error_code error;
};

task<form_outcome> read_form(http::body_reader& body, std::string boundary,
                             multipart_limits limits) {
    form_outcome out;
    multipart_reader form(body, boundary, limits);
    for (;;) {
        auto part = co_await form.next_part();
        if (!part) {
            out.error = part.error();
            co_return out;
        }
        if (!*part) co_return out;
        std::string line = (*part)->name;
        if ((*part)->filename) line += "[" + *(*part)->filename + "]";
        line += "=";
        for (;;) {
            auto piece = co_await form.read();
            if (!piece) {
                out.error = piece.error();
                co_return out;
            }
            if (piece->empty()) break;
            line += *piece;
        }
        out.parts.push_back(line);
    }
}

form_outcome parse(std::vector<std::string> pieces, multipart_limits limits = {}) {
    pieces_reader body(std::move(pieces));
    return run_test(read_form(body, "XyZ-b0undary", limits));
}

const std::string form_body =
    "preamble to ignore\r\n"
    "--XyZ-b0undary\r\n"
    "Content-Disposition: form-data; name=\"title\"\r\n"
    "\r\n"
    "Snow\r\n"
    "--XyZ-b0undary  \r\n"
    "Content-Disposition: form-data; name=\"file\"; filename=\"a b.txt\"\r\n"
    "Content-Type: text/plain\r\n"
    "\r\n"
    "line one\r\n--XyZ-b0undar not yet\r\nline two\r\n"
    "--XyZ-b0undary\r\n"
    "Content-Disposition: form-data; name=empty\r\n"
    "\r\n"
    "\r\n"
    "--XyZ-b0undary--\r\n"
    "epilogue to ignore";

const std::vector<std::string> form_parts = {
    "title=Snow", "file[a b.txt]=line one\r\n--XyZ-b0undar not yet\r\nline two", "empty="};

} // namespace

TEST_CASE("multipart_reader reads fields and files from a body split at every offset") {
    const form_outcome whole = parse({form_body});
    CHECK_FALSE(whole.error);
    CHECK(whole.parts == form_parts);
    for (std::size_t split = 1; split < form_body.size(); ++split) {
        CAPTURE(split);
        const form_outcome two = parse({form_body.substr(0, split), form_body.substr(split)});
        CHECK_FALSE(two.error);
        CHECK(two.parts == form_parts);
    }
    std::vector<std::string> bytes;
    for (const char c : form_body) bytes.emplace_back(1, c);
    const form_outcome bytewise = parse(bytes);
    CHECK_FALSE(bytewise.error);
    CHECK(bytewise.parts == form_parts);
}

TEST_CASE("multipart_reader accepts a closing boundary with no CRLF after it") {
    const std::string body = "--XyZ-b0undary\r\nContent-Disposition: form-data; name=a\r\n\r\n"
                             "1\r\n--XyZ-b0undary--";
    for (std::size_t split = 1; split < body.size(); ++split) {
        CAPTURE(split);
        const form_outcome out = parse({body.substr(0, split), body.substr(split)});
        CHECK_FALSE(out.error);
        CHECK(out.parts == std::vector<std::string>{"a=1"});
    }
}

TEST_CASE("multipart_reader skips the data of a part the caller does not read") {
    pieces_reader body({form_body});
    const auto names = run_test([](http::body_reader& b) -> task<std::vector<std::string>> {
        multipart_reader form(b, "XyZ-b0undary");
        std::vector<std::string> seen;
        for (;;) {
            auto part = co_await form.next_part();
            REQUIRE(part.has_value());
            if (!*part) co_return seen;
            seen.push_back((*part)->name);
        }
    }(body));
    CHECK(names == std::vector<std::string>{"title", "file", "empty"});
}

TEST_CASE("multipart_reader refuses a part over its limit, and malformed bodies") {
    multipart_limits small;
    small.max_part_bytes = 10;
    const form_outcome over = parse({form_body}, small);
    CHECK(over.error == std::errc::message_size);
    CHECK(over.parts == std::vector<std::string>{"title=Snow"});

    multipart_limits few;
    few.max_parts = 2;
    CHECK(parse({form_body}, few).error == std::errc::message_size);

    // The body ends inside a part, before any boundary, or a part has no disposition.
    CHECK(parse({form_body.substr(0, 120)}).error == std::errc::bad_message);
    CHECK(parse({"no boundary here"}).error == std::errc::bad_message);
    CHECK(
        parse({"--XyZ-b0undary\r\nContent-Type: text/plain\r\n\r\nx\r\n--XyZ-b0undary--"}).error ==
        std::errc::bad_message);
    CHECK(parse({"--XyZ-b0undaryjunk\r\n"}).error == std::errc::bad_message);
}

TEST_CASE("multipart_reader::boundary_of takes the boundary of multipart/form-data only") {
    CHECK(multipart_reader::boundary_of("multipart/form-data; boundary=abc") == "abc");
    CHECK(multipart_reader::boundary_of("Multipart/Form-Data;charset=x; BOUNDARY=\"a b:c\"") ==
          "a b:c");
    CHECK_FALSE(multipart_reader::boundary_of("multipart/mixed; boundary=abc"));
    CHECK_FALSE(multipart_reader::boundary_of("multipart/form-data"));
    CHECK_FALSE(multipart_reader::boundary_of("multipart/form-data; boundary=\"\""));
    CHECK_FALSE(
        multipart_reader::boundary_of("multipart/form-data; boundary=" + std::string(71, 'b')));
}

TEST_CASE("a form posted to a streamed route is read part by part as it arrives") {
    http::router routes;
    routes.post("/form", http::streamed([](http::request& req) -> task<http::response> {
                    auto boundary =
                        multipart_reader::boundary_of(req.header("Content-Type").value_or(""));
                    if (!boundary) co_return http::status_page(415);
                    const multipart_limits limits{};
                    form_outcome out = co_await read_form(req.body_stream(), *boundary, limits);
                    if (out.error) co_return http::status_page(400);
                    std::string answer;
                    for (const auto& line : out.parts) answer += line + "\n";
                    co_return http::text(answer);
                }));
    http::server srv(std::move(routes));
    run_server_test(srv, test_options(), [](net::address at) -> task<void> {
        auto client = co_await connect_to(at);
        std::string request =
            fmt::format("POST /form HTTP/1.1\r\nHost: test\r\n"
                        "Content-Type: multipart/form-data; boundary=XyZ-b0undary\r\n"
                        "Content-Length: {}\r\n\r\n{}",
                        form_body.size(), form_body);
        REQUIRE(co_await client.send(std::move(request)));
        auto r = co_await client.read_response();
        REQUIRE(r.has_value());
        CHECK(r->status == 200);
        CHECK(r->body == form_parts[0] + "\n" + form_parts[1] + "\n" + form_parts[2] + "\n");
    });
}

TEST_SUITE_END();
