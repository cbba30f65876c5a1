// examples/fetch/histogram.hpp: snow-fetch's latency histogram. Log-linear buckets in the
// manner of HdrHistogram: a fixed array of counters, so memory does not grow with the number
// of values recorded, and every percentile is within 1/64 of the true value.
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>

namespace snow::examples::fetch {

/// Counts unsigned values (snow-fetch records microseconds) up to 2^40 - 1; larger ones
/// count as that. Values below 128 are kept exactly; above, each power-of-two range is split
/// into 64 equal buckets, so a bucket is never wider than 1/64 of the values it holds.
class histogram {
public:
    /// The largest value kept apart; anything larger is recorded as this.
    static constexpr std::uint64_t max_trackable = (std::uint64_t{1} << 40) - 1;

    /// Counts one `value`.
    void record(std::uint64_t value) noexcept {
        if (value > max_trackable) value = max_trackable;
        ++counts_[index_of(value)];
        if (count_ == 0 || value < min_) min_ = value;
        if (value > max_) max_ = value;
        sum_ += value;
        ++count_;
    }

    /// The number of values recorded.
    std::uint64_t count() const noexcept { return count_; }
    /// The smallest value recorded, exactly; 0 when empty.
    std::uint64_t min() const noexcept { return min_; }
    /// The largest value recorded, exactly; 0 when empty.
    std::uint64_t max() const noexcept { return max_; }
    /// The mean of the values recorded; 0 when empty.
    double mean() const noexcept {
        return count_ == 0 ? 0.0 : static_cast<double>(sum_) / static_cast<double>(count_);
    }

    /// The value at or below which `percent` (0 to 100) of the values lie: the top of the
    /// bucket holding the value of that rank, never more than max(). 0 when empty.
    std::uint64_t percentile(double percent) const noexcept {
        if (count_ == 0) return 0;
        if (percent >= 100.0) return max_;
        // The rank of the wanted value, 1-based: the smallest value with at least `percent`
        // of all values at or below it.
        const double exact = percent / 100.0 * static_cast<double>(count_);
        auto rank = static_cast<std::uint64_t>(exact);
        if (static_cast<double>(rank) < exact) ++rank;
        if (rank == 0) rank = 1;
        std::uint64_t seen = 0;
        for (std::size_t i = 0; i < counts_.size(); ++i) {
            seen += counts_[i];
            if (seen >= rank) {
                const std::uint64_t top = highest_in(i);
                return top < max_ ? (top < min_ ? min_ : top) : max_;
            }
        }
        return max_;
    }

private:
    // Sub-buckets per power of two: 2^sub_bits values below 128 are exact (bucket 0); from
    // there each doubling of the value adds 64 buckets.
    static constexpr unsigned sub_bits = 7;
    static constexpr std::uint64_t sub_count = std::uint64_t{1} << sub_bits; // 128
    static constexpr std::uint64_t half_count = sub_count / 2;               // 64
    static constexpr std::size_t bucket_count = 40 - sub_bits + 1;
    static constexpr std::size_t slots = (bucket_count + 1) * half_count;

    /// The bucket for `value`: bucket b holds [2^(b+6), 2^(b+7)) in steps of 2^b, at indexes
    /// b*64 + (value >> b), which run on from the previous bucket's without a gap.
    static std::size_t index_of(std::uint64_t value) noexcept {
        const unsigned magnitude = static_cast<unsigned>(std::bit_width(value | (sub_count - 1)));
        const unsigned shift = magnitude - sub_bits;
        return static_cast<std::size_t>(shift * half_count + (value >> shift));
    }

    /// The largest value that lands in slot `index`.
    static std::uint64_t highest_in(std::size_t index) noexcept {
        if (index < sub_count) return index;
        const std::uint64_t shift = index / half_count - 1;
        const std::uint64_t sub = index - shift * half_count;
        return ((sub + 1) << shift) - 1;
    }

    std::array<std::uint64_t, slots> counts_{};
    std::uint64_t count_ = 0;
    std::uint64_t min_ = 0;
    std::uint64_t max_ = 0;
    std::uint64_t sum_ = 0;
};

} // namespace snow::examples::fetch
