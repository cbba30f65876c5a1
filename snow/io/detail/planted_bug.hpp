// snow/io/detail/planted_bug.hpp: a test-only switch that puts one known, fixed defect back, so
// that the simulation tests (tests/sim/planted_test.cpp) can show they catch each of them.
#pragma once

#include "snow/core/export.hpp"

namespace snow::io::detail {

/// The defects the switch can put back. Each is planted at the place its fix lives, as
/// `if (planted_bug == plant::n) [[unlikely]] { the old behaviour }`, and only on cold paths
/// (cancellation, error completions, teardown), so that the switch costs nothing measurable.
namespace plant {
/// A cancelled request resumes its task when the cancel is asked for, not when the kernel's
/// completion arrives: the task reuses or frees memory the kernel still owns.
inline constexpr int resume_at_cancel = 1;
/// A request a cancel interrupted (-EINTR) is submitted again instead of ending as
/// cancelled: the cancel is lost.
inline constexpr int retry_interrupted = 2;
/// A multishot accept's last CQE (no IORING_CQE_F_MORE) is taken for one more: the listener
/// believes it is still armed and never arms it again.
inline constexpr int ignore_missing_more = 3;
/// A pooled receive whose bytes beat its cancel ends as cancelled: the provided buffer the
/// kernel picked is dropped, never returned to the ring.
inline constexpr int drop_pooled_buffer = 4;
/// A listener destroyed under tasks waiting in accept() forgets them instead of waking
/// them: they wait for good.
inline constexpr int forget_accept_waiters = 5;
/// The number of defects above.
inline constexpr int count = 5;
} // namespace plant

/// The defect put back, or none (0). Set only by the simulation tests (planted_test.cpp, or
/// SNOW_SIM_PLANT=n, which tests/sim/harness.hpp reads to replay one), never by production
/// code: a program that sets it gets one of the bugs above on purpose.
SNOW_API extern int planted_bug;

} // namespace snow::io::detail
