// snow/net/detail/tls_session.cpp: the TLS state machine driven over the ring. OpenSSL reads
// and writes ciphertext through a BIO whose two ends are the session's buffers; the
// coroutines here move those buffers through the socket.
#include "snow/net/detail/tls_session.hpp"

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>

#include "snow/io/buffer_pool.hpp"
#include "snow/io/event_loop.hpp"
#include "snow/net/detail/tls_input_buffers.hpp"
#include "snow/net/tls_error.hpp"

namespace snow::net::detail {
namespace {

// Plaintext handed to SSL_write at once, and ciphertext gathered before a send.
constexpr std::size_t write_chunk = 16 * 1024;
constexpr std::size_t send_threshold = 64 * 1024;

tls_session* session_of(BIO* bio) noexcept {
    return static_cast<tls_session*>(BIO_get_data(bio));
}

int bio_read(BIO* bio, char* out, std::size_t size, std::size_t* read) {
    BIO_clear_retry_flags(bio);
    tls_session* s = session_of(bio);
    *read = s->take_input({reinterpret_cast<std::byte*>(out), size});
    if (*read > 0) return 1;
    if (!s->input_ended()) BIO_set_retry_read(bio); // more will come: OpenSSL says WANT_READ
    return 0;                                       // otherwise: end of stream
}

int bio_write(BIO* bio, const char* data, std::size_t size, std::size_t* written) {
    BIO_clear_retry_flags(bio);
    session_of(bio)->put_output({reinterpret_cast<const std::byte*>(data), size});
    *written = size;
    return 1;
}

long bio_ctrl(BIO*, int command, long, void*) {
    return command == BIO_CTRL_FLUSH ? 1 : 0; // output is flushed by the coroutines
}

int bio_create(BIO* bio) {
    BIO_set_init(bio, 1);
    return 1;
}

/// The BIO method, made once per process.
BIO_METHOD* session_bio_method() {
    static BIO_METHOD* method = [] {
        BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "snow session");
        BIO_meth_set_read_ex(m, &bio_read);
        BIO_meth_set_write_ex(m, &bio_write);
        BIO_meth_set_ctrl(m, &bio_ctrl);
        BIO_meth_set_create(m, &bio_create);
        return m;
    }();
    return method;
}

bool is_ip_literal(const std::string& host) noexcept {
    unsigned char scratch[sizeof(in6_addr)];
    return inet_pton(AF_INET, host.c_str(), scratch) == 1 ||
           inet_pton(AF_INET6, host.c_str(), scratch) == 1;
}

} // namespace

result<std::shared_ptr<tls_session>> tls_session::create(const tls_context& context,
                                                         std::string_view host) {
    ERR_clear_error();
    std::shared_ptr<tls_session> s(new tls_session());
    s->ssl_ = SSL_new(context.native_handle());
    BIO* bio = BIO_new(session_bio_method());
    if (s->ssl_ == nullptr || bio == nullptr) {
        if (bio != nullptr) BIO_free(bio);
        ERR_clear_error();
        return make_error_code(tls_errc::configuration);
    }
    BIO_set_data(bio, s.get());
    SSL_set_bio(s->ssl_, bio, bio); // one BIO, both directions: SSL takes the one reference
    if (context.is_server()) {
        SSL_set_accept_state(s->ssl_);
        return s;
    }
    SSL_set_connect_state(s->ssl_);
    const std::string name(host);
    if (is_ip_literal(name)) {
        // An address is checked against the certificate's IP entries, and never sent as SNI.
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(s->ssl_), name.c_str());
    } else if (!name.empty()) {
        // SSL_set_tlsext_host_name() is a macro with a C cast; this is what it expands to.
        SSL_ctrl(s->ssl_, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                 const_cast<char*>(name.c_str()));
        SSL_set1_host(s->ssl_, name.c_str());
        // A session kept from an earlier, verified handshake with this name resumes it.
        if (SSL_SESSION* kept = context.take_session(name)) {
            SSL_set_session(s->ssl_, kept);
            SSL_SESSION_free(kept);
        }
    }
    return s;
}

tls_session::~tls_session() {
    if (ssl_ != nullptr) SSL_free(ssl_);
}

bool tls_session::resumed() const noexcept {
    return ssl_ != nullptr && SSL_session_reused(ssl_) == 1;
}

std::string_view tls_session::alpn() const noexcept {
    const unsigned char* data = nullptr;
    unsigned int length = 0;
    SSL_get0_alpn_selected(ssl_, &data, &length);
    return {reinterpret_cast<const char*>(data), length};
}

std::size_t tls_session::take_input(std::span<std::byte> into) noexcept {
    const std::size_t n = std::min(into.size(), input_end_ - input_begin_);
    if (n == 0) return 0; // no buffer while nothing is buffered: no pointer to copy from
    std::memcpy(into.data(), input_.data() + input_begin_, n);
    input_begin_ += n;
    return n;
}

void tls_session::put_input(std::span<const std::byte> bytes) {
    if (bytes.empty()) return;
    if (input_.empty()) input_ = tls_input_buffers::of_this_loop().take();
    if (input_.size() - input_end_ < bytes.size()) input_.resize(input_end_ + bytes.size());
    std::memcpy(input_.data() + input_end_, bytes.data(), bytes.size());
    input_end_ += bytes.size();
}

void tls_session::release_input_if_read() noexcept {
    if (input_begin_ != input_end_ || input_.empty()) return;
    input_begin_ = input_end_ = 0;
    tls_input_buffers::of_this_loop().give_back(input_);
}

void tls_session::put_output(std::span<const std::byte> bytes) {
    output_.insert(output_.end(), bytes.begin(), bytes.end());
}

std::error_code tls_session::failure(int kind, bool handshaking) noexcept {
    broken_ = true;
    if (handshaking) {
        const long verified = SSL_get_verify_result(ssl_);
        if (verified != X509_V_OK) return verify_error(verified);
    }
    if (input_ended_ && (kind == SSL_ERROR_SYSCALL || kind == SSL_ERROR_SSL))
        return make_error_code(handshaking ? tls_errc::handshake_failed : tls_errc::truncated);
    return make_error_code(handshaking ? tls_errc::handshake_failed : tls_errc::broken);
}

task<result<std::size_t>> tls_session::fill(std::shared_ptr<tls_session> self, tcp_stream& tcp,
                                            io::wait_handle* interrupt) {
    if (self->input_begin_ == self->input_end_) {
        self->input_begin_ = self->input_end_ = 0;
        // Nothing is buffered: the buffer is taken once bytes are there, so a session waiting
        // for a record holds none (a handler's long wait, an idle WebSocket). With bytes
        // buffered, more are on their way, and are waited for in the buffer.
        if (!self->readable_) {
            auto ready = co_await wait_readable(self, tcp, interrupt);
            if (!ready) co_return ready.error();
            // The wait received the first bytes itself, or the peer's FIN (0).
            if (self->input_end_ > 0 || self->input_ended_) co_return self->input_end_;
        }
        self->readable_ = false;
        if (self->input_.empty()) self->input_ = tls_input_buffers::of_this_loop().take();
    }
    if (self->input_end_ == self->input_.size()) { // OpenSSL left a partial record at the end
        const std::size_t kept = self->input_end_ - self->input_begin_;
        std::memmove(self->input_.data(), self->input_.data() + self->input_begin_, kept);
        self->input_begin_ = 0;
        self->input_end_ = kept;
    }
    auto room = std::span(self->input_).subspan(self->input_end_);
    // The kernel writes into the session's buffer, never the caller's: a cancelled read
    // leaves nothing behind in caller memory, and bytes that won the race are kept here.
    io::recv_op receive(tcp.native_handle(), room);
    (void)std::move(receive).interruptible(interrupt);
    auto n = co_await receive;
    if (n) {
        self->input_end_ += *n;
        if (*n == 0) self->input_ended_ = true;
    }
    self->release_input_if_read(); // when nothing came
    co_return n;
}

task<result<void>> tls_session::wait_readable(std::shared_ptr<tls_session> self, tcp_stream& tcp,
                                              io::wait_handle* interrupt) {
    // A recv() returns at once with ciphertext buffered, a record OpenSSL holds (read or
    // not), or the session ended one way or another.
    if (self->input_begin_ != self->input_end_ || SSL_has_pending(self->ssl_) == 1 ||
        self->input_ended_ || self->broken_)
        co_return result<void>{};
    if (!self->send_busy_ && self->output_.empty()) {
        // The handshake's flight and the last response: their storage would be kept as long
        // as the connection waits.
        std::vector<std::byte>().swap(self->output_);
        std::vector<std::byte>().swap(self->sending_);
    }
    // The first bytes land in a buffer the kernel picks from the loop's pool when they arrive
    // and are copied into the session's: one receive, and no buffer while waiting. Without a
    // pool, or while it is empty, a poll says when a receive would not wait.
    if (io::buffer_pool* pool = io::event_loop::current().receive_buffers()) {
        io::recv_pooled_op receive = tcp.recv_pooled(*pool);
        (void)std::move(receive).interruptible(interrupt);
        auto got = co_await receive;
        if (got) {
            if (got->empty()) {
                self->input_ended_ = true;
            } else {
                self->put_input(got->bytes());
            }
            co_return result<void>{};
        }
        if (got.error() != std::errc::no_buffer_space) co_return got.error();
    }
    auto polled = co_await tcp.wait_readable().interruptible(interrupt);
    if (!polled) co_return polled.error();
    self->readable_ = true;
    co_return result<void>{};
}

task<result<void>> tls_session::flush(std::shared_ptr<tls_session> self, tcp_stream& tcp) {
    while (!self->output_.empty() || self->send_busy_) {
        if (self->send_busy_) {
            // Another task holds the send slot; it sends what is queued now before it lets go.
            const bool freed = co_await self->send_free_.wait();
            if (!freed) co_return make_error_code(std::errc::operation_canceled);
            continue;
        }
        self->send_busy_ = true;
        self->send_free_.reset();
        std::swap(self->sending_, self->output_);
        auto sent = co_await tcp.send_all(std::span<const std::byte>(self->sending_));
        self->sending_.clear();
        self->send_busy_ = false;
        self->send_free_.set();
        if (!sent) {
            // Records cut short cannot be resumed: the session ends here.
            self->broken_ = true;
            co_return sent.error();
        }
    }
    if (self->broken_) co_return make_error_code(tls_errc::broken);
    co_return result<void>{};
}

task<result<void>> tls_session::handshake(std::shared_ptr<tls_session> self, tcp_stream& tcp) {
    for (;;) {
        ERR_clear_error();
        const int r = SSL_do_handshake(self->ssl_);
        const int kind = r == 1 ? SSL_ERROR_NONE : SSL_get_error(self->ssl_, r);
        self->release_input_if_read();
        if (!self->output_.empty()) {
            auto sent = co_await flush(self, tcp);
            if (!sent) co_return sent.error();
        }
        if (r == 1) co_return result<void>{};
        if (kind != SSL_ERROR_WANT_READ || self->input_ended_) co_return self->failure(kind, true);
        auto n = co_await fill(self, tcp, nullptr);
        if (!n) co_return n.error();
    }
}

task<result<std::size_t>> tls_session::recv(std::shared_ptr<tls_session> self, tcp_stream& tcp,
                                            std::span<std::byte> buffer,
                                            io::wait_handle* interrupt) {
    if (buffer.empty()) co_return std::size_t{0};
    for (;;) {
        if (self->broken_) co_return make_error_code(tls_errc::broken);
        ERR_clear_error();
        std::size_t got = 0;
        const int r = SSL_read_ex(self->ssl_, buffer.data(), buffer.size(), &got);
        const int kind = r == 1 ? SSL_ERROR_NONE : SSL_get_error(self->ssl_, r);
        self->release_input_if_read();
        // Reading can produce records (a KeyUpdate reply). If a writer holds the send slot it
        // sends them after its own; otherwise the reader sends them now.
        if (!self->output_.empty() && !self->send_busy_) {
            auto sent = co_await flush(self, tcp);
            if (!sent) co_return sent.error();
        }
        if (r == 1) co_return got;
        if (kind == SSL_ERROR_ZERO_RETURN) co_return std::size_t{0}; // close_notify
        if (kind != SSL_ERROR_WANT_READ || self->input_ended_) co_return self->failure(kind, false);
        auto n = co_await fill(self, tcp, interrupt);
        if (!n) co_return n.error();
    }
}

task<result<void>> tls_session::send_all(std::shared_ptr<tls_session> self, tcp_stream& tcp,
                                         std::span<const std::span<const std::byte>> parts) {
    for (auto part : parts) {
        while (!part.empty()) {
            if (self->broken_) co_return make_error_code(tls_errc::broken);
            ERR_clear_error();
            const std::size_t chunk = std::min(part.size(), write_chunk);
            std::size_t written = 0;
            const int r = SSL_write_ex(self->ssl_, part.data(), chunk, &written);
            if (r != 1) co_return self->failure(SSL_get_error(self->ssl_, r), false);
            part = part.subspan(written);
            if (self->output_.size() >= send_threshold) {
                auto sent = co_await flush(self, tcp);
                if (!sent) co_return sent.error();
            }
        }
    }
    co_return co_await flush(self, tcp);
}

task<result<void>> tls_session::update_keys(std::shared_ptr<tls_session> self, tcp_stream& tcp) {
    if (self->broken_) co_return make_error_code(tls_errc::broken);
    ERR_clear_error();
    // Queued by SSL_key_update, written by the next handshake step, then sent here.
    if (SSL_key_update(self->ssl_, SSL_KEY_UPDATE_REQUESTED) != 1 ||
        SSL_do_handshake(self->ssl_) != 1) {
        ERR_clear_error();
        co_return make_error_code(tls_errc::handshake_failed); // not TLS 1.3, or mid-handshake
    }
    co_return co_await flush(self, tcp);
}

task<result<void>> tls_session::shutdown(std::shared_ptr<tls_session> self, tcp_stream& tcp) {
    if (!self->broken_) {
        ERR_clear_error();
        (void)SSL_shutdown(self->ssl_); // sends our close_notify; the peer's is not awaited
        auto sent = co_await flush(self, tcp);
        if (!sent) co_return sent.error();
    }
    co_return co_await tcp.shutdown(SHUT_WR);
}

} // namespace snow::net::detail
