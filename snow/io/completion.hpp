// snow/io/completion.hpp: what a CQE's user_data points at. Every in-flight request owns one;
// the loop calls its handler with the CQE and nothing else. User data 0 marks requests whose
// completion nobody needs (cancel requests, linked timeouts).
#pragma once

#include <liburing.h>

namespace snow::io {

/// The target of a request's user_data: the loop calls `on_complete(this, cqe)` when the
/// request's completion arrives. Operations derive from it.
struct completion {
    /// What the loop calls with a completion.
    using handler = void (*)(completion* self, const io_uring_cqe& cqe) noexcept;
    /// Called with this object and the completion queue entry.
    handler on_complete;
};

} // namespace snow::io
