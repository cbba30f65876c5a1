// bench/http_parser_peer.cpp: the callbacks that make http_parser record a request head the way
// snow's parser does; a callback may get a name, value or URL in pieces, so each one extends.
#include "http_parser_peer.hpp"

namespace snow_bench {
namespace {

http_parser_peer& self(http_parser* p) {
    return *static_cast<http_parser_peer*>(p->data);
}

// `span` grown to end where [at, at + length) ends; the bytes of one message are contiguous.
std::string_view extend(std::string_view span, const char* at, std::size_t length) {
    if (span.data() == nullptr) return {at, length};
    return {span.data(), static_cast<std::size_t>(at + length - span.data())};
}

} // namespace

http_parser_peer::http_parser_peer() {
    http_parser_settings_init(&settings_);
    settings_.on_message_begin = on_message_begin;
    settings_.on_url = on_url;
    settings_.on_header_field = on_header_field;
    settings_.on_header_value = on_header_value;
    settings_.on_headers_complete = on_headers_complete;
    settings_.on_body = on_body;
    settings_.on_message_complete = on_message_complete;
}

std::size_t http_parser_peer::parse_all(std::string_view bytes) {
    http_parser_init(&parser_, HTTP_REQUEST);
    parser_.data = this;
    messages_ = 0;
    const auto parsed = http_parser_execute(&parser_, &settings_, bytes.data(), bytes.size());
    if (parsed != bytes.size() || HTTP_PARSER_ERRNO(&parser_) != HPE_OK) return 0;
    return messages_;
}

int http_parser_peer::on_message_begin(http_parser* p) {
    auto& s = self(p);
    s.head_.target = {};
    s.head_.fields.clear();
    s.in_value_ = false;
    return 0;
}

int http_parser_peer::on_url(http_parser* p, const char* at, std::size_t length) {
    auto& head = self(p).head_;
    head.target = extend(head.target, at, length);
    return 0;
}

int http_parser_peer::on_header_field(http_parser* p, const char* at, std::size_t length) {
    auto& s = self(p);
    auto& fields = s.head_.fields;
    if (fields.empty() || s.in_value_) {
        fields.push_back({{at, length}, {}});
        s.in_value_ = false;
    } else {
        fields.back().name = extend(fields.back().name, at, length);
    }
    return 0;
}

int http_parser_peer::on_header_value(http_parser* p, const char* at, std::size_t length) {
    auto& s = self(p);
    auto& field = s.head_.fields.back();
    field.value = extend(field.value, at, length);
    s.in_value_ = true;
    return 0;
}

int http_parser_peer::on_headers_complete(http_parser* p) {
    auto& head = self(p).head_;
    head.method = p->method;
    head.version_minor = p->http_minor;
    head.keep_alive = http_should_keep_alive(p) != 0;
    head.content_length = p->content_length;
    return 0;
}

int http_parser_peer::on_body(http_parser* p, const char*, std::size_t length) {
    self(p).body_bytes_ += length;
    return 0;
}

int http_parser_peer::on_message_complete(http_parser* p) {
    ++self(p).messages_;
    return 0;
}

} // namespace snow_bench
