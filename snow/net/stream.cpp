// snow/net/stream.cpp: the stream's operations, dispatched to TCP or to the TLS session.
#include "snow/net/stream.hpp"

#include <array>
#include <vector>

#include "snow/net/detail/tls_session.hpp"
#include "snow/net/tls_error.hpp"

namespace snow::net {

stream::stream() noexcept = default;
stream::stream(tcp_stream tcp) noexcept : tcp_(std::move(tcp)) {}
stream::stream(stream&&) noexcept = default;
stream& stream::operator=(stream&&) noexcept = default;
stream::~stream() = default;

task<result<stream>> stream::handshake(tcp_stream tcp, tls_context context, std::string host,
                                       std::span<const std::byte> received) {
    auto session = detail::tls_session::create(context, host);
    if (!session) co_return session.error();
    (*session)->put_input(received); // copied before the first suspension
    stream s(std::move(tcp));
    s.tls_ = std::move(*session);
    auto shaken = co_await detail::tls_session::handshake(s.tls_, s.tcp_);
    if (!shaken) co_return shaken.error();
    co_return s;
}

task<result<stream>> stream::connect_tls(tcp_stream tcp, tls_context context, std::string host) {
    return handshake(std::move(tcp), std::move(context), std::move(host), {});
}

task<result<stream>> stream::accept_tls(tcp_stream tcp, tls_context context) {
    return handshake(std::move(tcp), std::move(context), {}, {});
}

task<result<stream>> stream::accept_tls(tcp_stream tcp, tls_context context,
                                        std::span<const std::byte> received) {
    return handshake(std::move(tcp), std::move(context), {}, received);
}

stream::transfer<io::recv_op> stream::recv(std::span<std::byte> buffer,
                                           io::wait_handle* interrupt) noexcept {
    if (tls_)
        return transfer<io::recv_op>(detail::tls_session::recv(tls_, tcp_, buffer, interrupt));
    return transfer<io::recv_op>(interrupt, std::in_place, tcp_.native_handle(), buffer);
}

task<result<void>> stream::wait_readable(io::wait_handle* interrupt) {
    if (tls_) return detail::tls_session::wait_readable(tls_, tcp_, interrupt);
    return [](tcp_stream& tcp, io::wait_handle* handle) -> task<result<void>> {
        auto polled = co_await tcp.wait_readable().interruptible(handle);
        if (!polled) co_return polled.error();
        co_return result<void>{};
    }(tcp_, interrupt);
}

stream::transfer<io::send_op> stream::send(std::span<const std::byte> bytes) noexcept {
    if (!tls_) return transfer<io::send_op>(nullptr, std::in_place, tcp_.native_handle(), bytes);
    return transfer<io::send_op>([](std::shared_ptr<detail::tls_session> session, tcp_stream& tcp,
                                    std::span<const std::byte> whole) -> task<result<std::size_t>> {
        const std::array<std::span<const std::byte>, 1> parts{whole};
        auto sent = co_await detail::tls_session::send_all(std::move(session), tcp, parts);
        if (!sent) co_return sent.error();
        co_return whole.size();
    }(tls_, tcp_, bytes));
}

task<result<void>> stream::send_all(std::span<const std::byte> bytes) {
    if (!tls_) return tcp_.send_all(bytes);
    return [](std::shared_ptr<detail::tls_session> session, tcp_stream& tcp,
              std::span<const std::byte> whole) -> task<result<void>> {
        const std::array<std::span<const std::byte>, 1> parts{whole};
        co_return co_await detail::tls_session::send_all(std::move(session), tcp, parts);
    }(tls_, tcp_, bytes);
}

task<result<void>> stream::send_all(std::string_view text) {
    return send_all(as_bytes(text));
}

task<result<void>> stream::send_all(std::span<iovec> buffers) {
    if (!tls_) return tcp_.send_all(buffers);
    return [](std::shared_ptr<detail::tls_session> session, tcp_stream& tcp,
              std::span<iovec> pieces) -> task<result<void>> {
        std::vector<std::span<const std::byte>> parts;
        parts.reserve(pieces.size());
        for (const iovec& piece : pieces)
            parts.emplace_back(static_cast<const std::byte*>(piece.iov_base), piece.iov_len);
        co_return co_await detail::tls_session::send_all(std::move(session), tcp, parts);
    }(tls_, tcp_, buffers);
}

task<result<void>> stream::shutdown() {
    if (!tls_) {
        return [](tcp_stream& tcp) -> task<result<void>> {
            co_return co_await tcp.shutdown(SHUT_WR);
        }(tcp_);
    }
    return detail::tls_session::shutdown(tls_, tcp_);
}

task<result<void>> stream::update_keys() {
    if (!tls_) {
        return
            []() -> task<result<void>> { co_return make_error_code(tls_errc::handshake_failed); }();
    }
    return detail::tls_session::update_keys(tls_, tcp_);
}

io::close_op stream::close() noexcept {
    tls_.reset(); // freed once the operations still holding it have completed
    return tcp_.close();
}

std::string_view stream::alpn() const noexcept {
    return tls_ ? tls_->alpn() : std::string_view{};
}

bool stream::resumed() const noexcept {
    return tls_ != nullptr && tls_->resumed();
}

} // namespace snow::net
