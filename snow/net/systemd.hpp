// snow/net/systemd.hpp: the two parts of systemd's protocol a server needs, without libsystemd:
// socket activation (the listening sockets a .socket unit passes from fd 3 on, announced by
// LISTEN_PID and LISTEN_FDS) and readiness notification (READY=1, STOPPING=1 as datagrams
// to $NOTIFY_SOCKET, for Type=notify services).
#pragma once

#include <string_view>
#include <vector>

#include "snow/core/export.hpp"
#include "snow/net/file_descriptor.hpp"

namespace snow::net::systemd {

/// The first descriptor systemd passes (SD_LISTEN_FDS_START).
inline constexpr int listen_fds_start = 3;

/// The sockets passed to this process: fds 3 … 3+LISTEN_FDS-1 when LISTEN_PID is this
/// process, marked close-on-exec and owned by the caller. LISTEN_PID, LISTEN_FDS and
/// LISTEN_FDNAMES are then removed from the environment, so a child does not take them too.
/// Empty when the process was not socket-activated. Call it before starting threads.
SNOW_API std::vector<file_descriptor> take_listen_fds();

/// Sends `state` ("READY=1", "STOPPING=1", "STATUS=…") to $NOTIFY_SOCKET: a path, or an
/// abstract socket when it begins with '@'. Never waits (MSG_DONTWAIT). False when the
/// variable is unset or the send failed; a service that is not Type=notify has no socket.
SNOW_API bool notify(std::string_view state) noexcept;

} // namespace snow::net::systemd
