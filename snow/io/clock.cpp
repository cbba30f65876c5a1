// snow/io/clock.cpp: the thread-local hook through which a simulated kernel supplies time.
#include "snow/io/clock.hpp"

namespace snow::io::detail {

SNOW_API thread_local constinit const clock::time_point* virtual_now
    __attribute__((tls_model("initial-exec"))) = nullptr;

} // namespace snow::io::detail
