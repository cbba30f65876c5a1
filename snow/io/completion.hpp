// snow/io/completion.hpp: what a CQE's user_data points at. Every in-flight request owns one;
// the loop calls its handler with the CQE and nothing else. User data 0 marks requests whose
// completion nobody needs (cancel requests, linked timeouts).
#pragma once

#include <liburing.h>

namespace snow::io {

struct completion {
    using handler = void (*)(completion* self, const io_uring_cqe& cqe) noexcept;
    handler on_complete;
};

} // namespace snow::io
