// snow/http/client/event_source.cpp: the event source's loop: open the stream, parse what
// arrives, and on a drop wait the reconnection time and open it again with Last-Event-ID.
#include "snow/http/client/event_source.hpp"

#include <algorithm>
#include <utility>

#include "snow/core/error.hpp"
#include "snow/http/grammar.hpp"
#include "snow/time/sleep.hpp"
#include "snow/time/timeout.hpp"

namespace snow::http {
namespace {

std::string_view message_for(event_source_error e) noexcept {
    switch (e) {
    case event_source_error::no_content:
        return "the server ended the event stream with 204 No Content";
    case event_source_error::bad_status:
        return "the event stream was answered with a status other than 200";
    case event_source_error::not_event_stream:
        return "the response is not a text/event-stream";
    }
    return "unknown event source error";
}

/// Whether `content_type` names text/event-stream, with or without parameters.
bool is_event_stream(std::string_view content_type) noexcept {
    std::string_view media = content_type.substr(0, content_type.find(';'));
    while (!media.empty() && is_ows(media.back())) media.remove_suffix(1);
    while (!media.empty() && is_ows(media.front())) media.remove_prefix(1);
    return iequals(media, "text/event-stream");
}

/// Failures that a reconnection would meet again: they end the source.
bool is_final(std::error_code error) noexcept {
    return error.category() == event_source_category() ||
           error.category() == event_stream_category() || error == client_failure::url ||
           error == client_failure::redirects || error == client_failure::tls;
}

/// Fields the source sets itself; the caller's fields of these names are not sent.
bool is_source_field(std::string_view name) noexcept {
    return iequals(name, "Accept") || iequals(name, "Cache-Control") ||
           iequals(name, "Last-Event-ID");
}

} // namespace

const std::error_category& event_source_category() noexcept {
    static const enum_category<event_source_error> category("event-source", message_for);
    return category;
}

event_source::event_source(client& http, std::string url, event_source_options options)
    : http_(http)
    , url_(std::move(url))
    , options_(std::move(options))
    , parser_(options_.limits) {
    parser_.set_last_event_id(options_.last_event_id);
}

std::chrono::milliseconds event_source::retry_delay() const noexcept {
    return std::min(parser_.retry().value_or(options_.retry), options_.max_retry);
}

task<result<received_event>> event_source::next() {
    for (;;) {
        if (failure_) co_return failure_;
        if (!stream_) {
            auto opened = co_await connect();
            if (!opened) {
                if (opened.error() != std::errc::operation_canceled) failure_ = opened.error();
                co_return opened.error();
            }
            continue;
        }
        if (!pending_.empty()) {
            auto parsed = parser_.parse(pending_);
            if (!parsed) {
                failure_ = parsed.error();
                drop();
                co_return failure_;
            }
            if (*parsed) {
                const parsed_event& e = **parsed;
                co_return received_event{std::string(e.type), std::string(e.data),
                                         std::string(e.id)};
            }
            continue;
        }
        auto chunk = co_await read_chunk();
        if (!chunk) {
            drop(); // dropped, reset, silent too long, or cancelled: the stream is gone
            if (chunk.error() == std::errc::operation_canceled) co_return chunk.error();
            continue;
        }
        if (chunk->empty()) {
            drop(); // the server ended the body: reconnect, as for a drop
            continue;
        }
        pending_ = *chunk;
    }
}

task<result<std::string_view>> event_source::read_chunk() {
    if (!options_.idle_timeout) co_return co_await stream_->next_chunk();
    co_return co_await with_timeout(stream_->next_chunk(), *options_.idle_timeout);
}

task<result<void>> event_source::connect() {
    for (;;) {
        // The first connection goes at once; every later one waits the reconnection time.
        if (connections_ > 0 || failed_in_row_ > 0) {
            const bool waited = co_await sleep(retry_delay());
            if (!waited) co_return std::errc::operation_canceled;
        }
        auto opened = co_await open_once();
        if (opened) {
            failed_in_row_ = 0;
            ++connections_;
            co_return opened;
        }
        if (opened.error() == std::errc::operation_canceled || is_final(opened.error()))
            co_return opened;
        ++failed_in_row_;
        if (options_.max_failed_attempts && failed_in_row_ >= *options_.max_failed_attempts)
            co_return opened;
    }
}

task<result<void>> event_source::open_once() {
    headers fields;
    fields.add("Accept", "text/event-stream");
    fields.add("Cache-Control", "no-cache");
    // An id that is no valid field value (a control character) cannot be sent; the server
    // then starts from the beginning, as it would for a new client.
    const std::string_view last_id = parser_.last_event_id();
    if (!last_id.empty() && is_field_value(last_id)) fields.add("Last-Event-ID", last_id);
    for (const header_field field : options_.headers)
        if (!is_source_field(field.name)) fields.add(field.name, field.value);

    // No request deadline: it would cut the stream off. open_timeout bounds the opening.
    request_options request;
    request.timeout = std::chrono::nanoseconds::max();
    request.follow_redirects = true;
    task<result<response_stream>> opening =
        http_.open(method::get, url_, std::string(), std::move(fields), request);
    if (options_.open_timeout) opening = with_timeout(std::move(opening), *options_.open_timeout);
    auto stream = co_await std::move(opening);
    if (!stream) co_return stream.error();

    if (stream->status() == 204) co_return event_source_error::no_content;
    if (stream->status() != 200) co_return event_source_error::bad_status;
    if (!is_event_stream(stream->headers().get("Content-Type").value_or("")))
        co_return event_source_error::not_event_stream;
    stream_.emplace(std::move(*stream));
    parser_.reset();
    pending_ = {};
    co_return result<void>{};
}

void event_source::drop() noexcept {
    stream_.reset();
    pending_ = {};
}

} // namespace snow::http
