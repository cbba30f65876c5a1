// snow/http/websocket/deflate.cpp: permessage-deflate's negotiation (RFC 7692 §7.1) over the
// Sec-WebSocket-Extensions grammar (RFC 6455 §9.1), and raw deflate through zlib.
#include "snow/http/websocket/deflate.hpp"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <vector>

#include "snow/http/grammar.hpp"

namespace snow::http::ws {

namespace {

// ---------------------------------------------------------------------------------------
// Sec-WebSocket-Extensions: extension *( ";" param [ "=" value ] ), comma-separated

struct extension_param {
    std::string name;
    std::optional<std::string> value;
};

struct extension_element {
    std::string name;
    std::vector<extension_param> params;
    bool valid = true; ///< false: its syntax is broken, and it is ignored
};

std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

/// Splits `s` at each `separator` outside a quoted string.
std::vector<std::string_view> split_outside_quotes(std::string_view s, char separator) {
    std::vector<std::string_view> parts;
    bool quoted = false;
    std::size_t start = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (quoted && s[i] == '\\') {
            ++i;
        } else if (s[i] == '"') {
            quoted = !quoted;
        } else if (!quoted && s[i] == separator) {
            parts.push_back(s.substr(start, i - start));
            start = i + 1;
        }
    }
    parts.push_back(s.substr(start));
    return parts;
}

/// A parameter's value: a token, or a quoted string whose content must be one (§9.1).
std::optional<std::string> parse_value(std::string_view raw) {
    raw = trim(raw);
    std::string value;
    if (raw.size() >= 2 && raw.front() == '"' && raw.back() == '"') {
        for (std::size_t i = 1; i + 1 < raw.size(); ++i) {
            if (raw[i] == '\\' && i + 2 < raw.size()) ++i;
            value.push_back(raw[i]);
        }
    } else {
        value = std::string(raw);
    }
    if (!is_token(value)) return std::nullopt;
    return value;
}

std::vector<extension_element> parse_extensions(std::span<const std::string_view> fields) {
    std::vector<extension_element> out;
    for (std::string_view field : fields) {
        for (std::string_view element : split_outside_quotes(field, ',')) {
            if (trim(element).empty()) continue; // empty list elements are allowed
            extension_element e;
            const auto parts = split_outside_quotes(element, ';');
            e.name = std::string(trim(parts.front()));
            e.valid = is_token(e.name);
            for (std::size_t i = 1; i < parts.size() && e.valid; ++i) {
                const std::string_view part = parts[i];
                const std::size_t eq = part.find('=');
                extension_param p;
                p.name = std::string(trim(part.substr(0, eq)));
                if (!is_token(p.name)) e.valid = false;
                if (eq != std::string_view::npos) {
                    p.value = parse_value(part.substr(eq + 1));
                    if (!p.value) e.valid = false;
                }
                e.params.push_back(std::move(p));
            }
            out.push_back(std::move(e));
        }
    }
    return out;
}

/// A window size in bits, 8..15, written as 1*DIGIT without a leading zero (§7.1.2).
std::optional<int> parse_window_bits(const std::optional<std::string>& value) {
    if (!value || value->empty() || value->size() > 2 || (*value)[0] == '0') return std::nullopt;
    int bits = 0;
    for (char c : *value) {
        if (c < '0' || c > '9') return std::nullopt;
        bits = bits * 10 + (c - '0');
    }
    if (bits < 8 || bits > 15) return std::nullopt;
    return bits;
}

/// The parameters of one permessage-deflate element, checked: each known, at most once, with
/// a value where one belongs. `client_bits_offered` tells whether client_max_window_bits
/// appeared, and `client_bits` holds its value if it had one.
struct element_params {
    deflate_params params;
    bool server_bits_given = false;
    bool client_bits_given = false;
    std::optional<int> client_bits;
};

std::optional<element_params> read_params(const extension_element& e) {
    element_params out;
    bool seen[4] = {false, false, false, false};
    for (const extension_param& p : e.params) {
        int which = -1;
        if (iequals(p.name, "server_no_context_takeover"))
            which = 0;
        else if (iequals(p.name, "client_no_context_takeover"))
            which = 1;
        else if (iequals(p.name, "server_max_window_bits"))
            which = 2;
        else if (iequals(p.name, "client_max_window_bits"))
            which = 3;
        if (which < 0 || seen[which]) return std::nullopt; // unknown, or repeated (§7.1)
        seen[which] = true;
        switch (which) {
        case 0:
        case 1:
            if (p.value) return std::nullopt;
            (which == 0 ? out.params.server_no_context_takeover
                        : out.params.client_no_context_takeover) = true;
            break;
        case 2: {
            const auto bits = parse_window_bits(p.value);
            if (!bits) return std::nullopt;
            out.params.server_max_window_bits = *bits;
            out.server_bits_given = true;
            break;
        }
        default:
            out.client_bits_given = true;
            if (p.value) {
                out.client_bits = parse_window_bits(p.value);
                if (!out.client_bits) return std::nullopt;
                out.params.client_max_window_bits = *out.client_bits;
            }
            break;
        }
    }
    return out;
}

int clamp_bits(int bits) noexcept {
    return std::clamp(bits, 8, 15);
}

} // namespace

std::optional<deflate_agreement> negotiate_deflate(std::span<const std::string_view> fields,
                                                   const deflate_options& mine) {
    if (!mine.enabled) return std::nullopt;
    for (const extension_element& e : parse_extensions(fields)) {
        if (!e.valid || !iequals(e.name, "permessage-deflate")) continue;
        const auto offer = read_params(e);
        if (!offer) continue; // a malformed offer is declined; a later one may do
        deflate_agreement a;
        deflate_params& p = a.params;
        // The server may always ask more of itself, and may ask no context takeover of the
        // client (§7.1.1); its window is the smaller of the offer's and its own (§7.1.2.1).
        p.server_no_context_takeover =
            offer->params.server_no_context_takeover || mine.server_no_context_takeover;
        p.client_no_context_takeover =
            offer->params.client_no_context_takeover || mine.client_no_context_takeover;
        p.server_max_window_bits =
            std::min(offer->params.server_max_window_bits, clamp_bits(mine.server_max_window_bits));
        // The client's window may be bounded only if the offer says it can be (§7.1.2.2).
        p.client_max_window_bits = 15;
        if (offer->client_bits_given) {
            p.client_max_window_bits =
                std::min(offer->client_bits.value_or(15), clamp_bits(mine.client_max_window_bits));
        }
        a.response = "permessage-deflate";
        if (p.server_no_context_takeover) a.response += "; server_no_context_takeover";
        if (p.client_no_context_takeover) a.response += "; client_no_context_takeover";
        if (offer->server_bits_given || p.server_max_window_bits < 15)
            a.response += "; server_max_window_bits=" + std::to_string(p.server_max_window_bits);
        if (offer->client_bits_given && p.client_max_window_bits < 15)
            a.response += "; client_max_window_bits=" + std::to_string(p.client_max_window_bits);
        return a;
    }
    return std::nullopt;
}

std::string deflate_offer(const deflate_options& mine) {
    std::string offer = "permessage-deflate";
    if (mine.server_no_context_takeover) offer += "; server_no_context_takeover";
    if (mine.client_no_context_takeover) offer += "; client_no_context_takeover";
    if (clamp_bits(mine.server_max_window_bits) < 15)
        offer +=
            "; server_max_window_bits=" + std::to_string(clamp_bits(mine.server_max_window_bits));
    // Always offered, so a server may bound the client's window; with a value when the
    // client bounds it itself.
    offer += "; client_max_window_bits";
    if (clamp_bits(mine.client_max_window_bits) < 15)
        offer.append("=").append(std::to_string(clamp_bits(mine.client_max_window_bits)));
    return offer;
}

result<std::optional<deflate_params>>
accept_deflate_answer(std::span<const std::string_view> fields, const deflate_options& mine) {
    const auto elements = parse_extensions(fields);
    if (elements.empty()) return std::optional<deflate_params>{};
    const auto refused = std::make_error_code(std::errc::protocol_error);
    if (!mine.enabled || elements.size() != 1) return refused;
    const extension_element& e = elements.front();
    if (!e.valid || !iequals(e.name, "permessage-deflate")) return refused;
    const auto answer = read_params(e);
    if (!answer) return refused;
    deflate_params p = answer->params;
    // What the client asked of the server must be in the answer, no looser (§7.1.1.1, §7.1.2.1).
    if (mine.server_no_context_takeover && !p.server_no_context_takeover) return refused;
    const int asked_server_bits = clamp_bits(mine.server_max_window_bits);
    if (asked_server_bits < 15 && !answer->server_bits_given) return refused;
    if (p.server_max_window_bits > asked_server_bits) return refused;
    // client_max_window_bits is always offered, so the server may name one, with a value.
    if (answer->client_bits_given && !answer->client_bits) return refused;
    p.client_max_window_bits =
        std::min(p.client_max_window_bits, clamp_bits(mine.client_max_window_bits));
    p.client_no_context_takeover = p.client_no_context_takeover || mine.client_no_context_takeover;
    return std::optional<deflate_params>(p);
}

deflate_direction direction_of(const deflate_params& p, role sender) noexcept {
    if (sender == role::server)
        return {.window_bits = p.server_max_window_bits,
                .no_context_takeover = p.server_no_context_takeover};
    return {.window_bits = p.client_max_window_bits,
            .no_context_takeover = p.client_no_context_takeover};
}

// ---------------------------------------------------------------------------------------
// Compressing

namespace {
/// Each step's output: a bounded piece, so neither direction ever asks zlib for more at once.
constexpr std::size_t chunk = 16 * 1024;
/// What a sender leaves out of each message, and a receiver puts back (§7.2.1, §7.2.2).
constexpr std::array<unsigned char, 4> tail = {0x00, 0x00, 0xff, 0xff};
} // namespace

deflater::deflater(deflate_direction direction, int level) noexcept
    : direction_(direction)
    , level_(std::clamp(level, 1, 9)) {}

deflater::~deflater() {
    release();
}

void deflater::release() noexcept {
    if (stream_) deflateEnd(stream_.get());
    stream_.reset();
}

result<void> deflater::compress(std::span<const std::byte> in, std::string& out) {
    if (!stream_) {
        auto fresh = std::make_unique<z_stream>();
        // Negative window bits: raw deflate, no zlib header or checksum (§7.2).
        if (deflateInit2(fresh.get(), level_, Z_DEFLATED, -direction_.window_bits, 8,
                         Z_DEFAULT_STRATEGY) != Z_OK)
            return std::errc::not_enough_memory;
        stream_ = std::move(fresh);
    }
    z_stream& z = *stream_;
    z.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(in.data()));
    z.avail_in = static_cast<uInt>(in.size());
    const std::size_t start = out.size();
    // A sync flush ends the message on a byte boundary with an empty stored block, whose
    // 00 00 ff ff is then dropped; the window goes on to the next message.
    for (;;) {
        const std::size_t had = out.size();
        out.resize(had + std::max(chunk, deflateBound(&z, z.avail_in) / 4));
        z.next_out = reinterpret_cast<Bytef*>(out.data() + had);
        z.avail_out = static_cast<uInt>(out.size() - had);
        const int rc = deflate(&z, Z_SYNC_FLUSH);
        out.resize(out.size() - z.avail_out);
        if (rc != Z_OK && rc != Z_BUF_ERROR) {
            release();
            out.resize(start);
            return std::errc::not_enough_memory;
        }
        if (z.avail_in == 0 && z.avail_out != 0) break;
    }
    if (out.size() - start >= tail.size() &&
        std::equal(tail.begin(), tail.end(),
                   reinterpret_cast<const unsigned char*>(out.data() + out.size() - tail.size())))
        out.resize(out.size() - tail.size());
    if (direction_.no_context_takeover) release();
    return {};
}

// ---------------------------------------------------------------------------------------
// Decompressing

inflater::inflater(deflate_direction direction) noexcept : direction_(direction) {}
inflater::inflater(inflater&&) noexcept = default;
inflater& inflater::operator=(inflater&& other) noexcept {
    release();
    direction_ = other.direction_;
    stream_ = std::move(other.stream_);
    return *this;
}

inflater::~inflater() {
    release();
}

void inflater::release() noexcept {
    if (stream_) inflateEnd(stream_.get());
    stream_.reset();
}

inflate_status inflater::feed(std::span<const std::byte> in, std::string& out, std::size_t limit) {
    if (!stream_) {
        auto fresh = std::make_unique<z_stream>();
        // A window of at least 9 bits: inflating with a larger window than the sender's is
        // always right, and zlib's raw inflate is surest away from 8.
        if (inflateInit2(fresh.get(), -std::max(direction_.window_bits, 9)) != Z_OK)
            return inflate_status::no_memory;
        stream_ = std::move(fresh);
    }
    z_stream& z = *stream_;
    z.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(in.data()));
    z.avail_in = static_cast<uInt>(in.size());
    for (;;) {
        // Room for one more byte than the limit allows, so passing it is seen; never more
        // than a chunk at a time.
        const std::size_t had = out.size();
        if (had > limit) return inflate_status::too_big;
        const std::size_t room = std::min(chunk, limit - had) + 1 - (limit - had >= chunk);
        out.resize(had + room);
        z.next_out = reinterpret_cast<Bytef*>(out.data() + had);
        z.avail_out = static_cast<uInt>(room);
        const int rc = inflate(&z, Z_SYNC_FLUSH);
        out.resize(out.size() - z.avail_out);
        if (out.size() > limit) return inflate_status::too_big;
        if (rc == Z_STREAM_END) {
            // A sender that ended its stream (BFINAL) starts a new one in what follows.
            inflateReset(&z);
            if (z.avail_in == 0) break;
            continue;
        }
        if (rc == Z_MEM_ERROR) return inflate_status::no_memory;
        if (rc != Z_OK && rc != Z_BUF_ERROR) return inflate_status::bad_data;
        // Stopped with room left: every input byte is used and all its output written.
        if (z.avail_out != 0) break;
    }
    return inflate_status::ok;
}

inflate_status inflater::finish(std::string& out, std::size_t limit) {
    const auto ending = std::as_bytes(std::span(tail));
    const inflate_status status = feed(ending, out, limit);
    if (status == inflate_status::ok && direction_.no_context_takeover) release();
    return status;
}

} // namespace snow::http::ws
