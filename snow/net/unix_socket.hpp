// snow/net/unix_socket.hpp: stream sockets on a filesystem path (AF_UNIX), for a server behind a
// local proxy and for the HTTP client's http+unix:// URLs. A connected one is a tcp_stream, whose
// operations work on any connected stream socket (only TCP_NODELAY does not apply).
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>

#include "snow/core/export.hpp"
#include "snow/core/result.hpp"
#include "snow/core/task.hpp"
#include "snow/net/tcp_listener.hpp"
#include "snow/net/tcp_stream.hpp"

namespace snow::net {

/// The longest path a Unix socket address holds: sun_path less its terminating NUL.
inline constexpr std::size_t max_unix_path_bytes = 107;

/// Connects to the Unix stream socket at `path`, giving up after `timeout` if one is given.
/// Errors: no_such_file_or_directory (nothing at the path), connection_refused (nobody
/// listens there), invalid_argument (an empty path, a NUL in it, or longer than
/// max_unix_path_bytes), timed_out, the kernel's.
SNOW_API task<result<tcp_stream>> connect_unix(std::string path,
                                               std::optional<std::chrono::nanoseconds> timeout);

/// Binds a Unix stream socket to `path` (which must not exist yet) and listens on it;
/// `options` gives the backlog and max_queued (no_delay, reuse_address and reuse_port do
/// not apply). The file stays after the listener closes: the caller removes it. Errors:
/// address_in_use (something is at the path), invalid_argument (as for connect_unix), the
/// kernel's.
SNOW_API result<tcp_listener> listen_unix(const std::string& path, listen_options options = {});

} // namespace snow::net
